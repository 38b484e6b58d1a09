#include "backends/model.hpp"
#include "cli/commands.hpp"
#include "scoring/generation_engine.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/answer_task.hpp"
#include "tasks/representation_task.hpp"
#include "tasks/task_runner.hpp"
#include "tasks/task_spec.hpp"
#include "util/error.hpp"
#include "version.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>

namespace compeval::cli {
namespace {

struct EvalArgs {
    std::string task;
    std::string model;
    std::string out;
    std::string data_dir = "../shared/data";
    std::string form = "auto";
    std::string answer;  // "" = the task file's scoring.answer
    size_t limit = 0;
    std::string limit_order = "sample";
    uint64_t limit_seed = 1;
    int threads = 0;
    int batch = 256;
};

void write_item_results(const TaskSpec & spec, const TaskResult & result, const Model & model,
                        const std::string & path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw Error(path + ": cannot write");
    }
    for (const auto & r : result.results) {
        auto line = sample_json(spec, result, r);
        line["model_sha256"] = model.facts().sha256;
        if (result.limit.n > 0) {
            line["limit"] = limit_json(result.limit);
        }
        out << line.dump() << '\n';
    }
}

void print_layer_table(const RepresentationSpec & spec, const RepresentationResult & result, const Model & model) {
    fmt::print("task {} ({}), model {} ({} params), carrier \"{}\"\n", spec.name, spec.category, model.facts().path,
               model.facts().n_params, spec.carrier);
    fmt::print("{:>5} {:>6}", "layer", "n");
    for (const auto & [metric, value] : result.layers.front().values) {
        fmt::print(" {:>26}", metric);
    }
    fmt::print("\n");
    for (const auto & m : result.layers) {
        fmt::print("{:>5} {:>6}", m.layer, m.n);
        for (const auto & [metric, value] : m.values) {
            fmt::print(" {:>26.4f}", value);
        }
        fmt::print("\n");
    }
}

void run_eval(const EvalArgs & args) {
    if (is_representation_task(args.task)) {
        const RepresentationSpec spec = load_representation_spec(args.task, args.data_dir);
        Model model(args.model);
        print_layer_table(spec, run_representation_task(model, spec, args.threads), model);
        return;
    }
    const TaskSpec spec = load_task_spec(args.task, args.data_dir);
    TaskRunOptions options;
    options.limit = {args.limit, limit_order_from_name(args.limit_order), args.limit_seed};
    options.form = args.form == "chat" ? PromptForm::Chat : args.form == "plain" ? PromptForm::Plain : PromptForm::Auto;
    Model model(args.model);
    EngineOptions engine_options;
    engine_options.threads = args.threads;
    engine_options.batch = args.batch;
    const AnswerRoute route = args.answer.empty() ? spec.answer.route : parse_answer_route(args.answer);
    TaskResult result;
    if (route == AnswerRoute::Loglikelihood) {
        LoglikelihoodEngine engine(model, engine_options);
        result = run_task(engine, spec, options);
    } else {
        GenerationEngine engine(model, engine_options);
        result = run_answer_task(engine, spec, route, options);
    }

    fmt::print("task {} ({}), model {} ({} params), {} prompts, route {}\n", spec.name, spec.category,
               model.facts().path, model.facts().n_params, result.form, result.route);
    std::vector<std::string> columns = spec.metrics;
    if (result.reads_answers()) {
        columns = {"acc", "no_answer"};
        if (route == AnswerRoute::FirstToken) {
            columns.emplace_back("top_k_missing");
        }
    } else if (spec.distribution) {
        columns.insert(columns.end(), {"distribution_tv", "distribution_js"});
    }
    fmt::print("{:<14} {:<12} {:>6}", "split", "variant", "n");
    for (const auto & m : columns) {
        fmt::print(" {:>15}", m);
    }
    fmt::print("\n");
    for (const auto & m : result.metrics) {
        fmt::print("{:<14} {:<12} {:>6}", m.split, m.variant, m.n);
        for (const auto & metric : columns) {
            fmt::print(" {:>15.4f}", m.values.at(metric));
        }
        fmt::print("\n");
    }
    size_t separate = 0;
    for (const auto & r : result.results) {
        separate += r.separate_boundary() ? 1 : 0;
    }
    if (separate > 0) {
        // Not an error: these were scored as the continuation's own tokens (see docs/models.md, token boundary).
        fmt::print(
            "token boundary: {} of {} item x variant lines scored the answer as its own tokens, because "
            "the prompt's last token merges with it\n",
            separate, result.results.size());
    }
    if (!args.out.empty()) {
        write_item_results(spec, result, model, args.out);
        fmt::print("wrote {} ({} item x variant lines)\n", args.out, result.results.size());
    }
}

}  // namespace

void add_eval_command(CLI::App & app) {
    auto args = std::make_shared<EvalArgs>();
    auto * cmd = app.add_subcommand(
        "eval", "Run one task file (tasks/*.yaml) on one model: every split and prompt variant, every metric.");
    cmd->add_option("task", args->task, "Task file (YAML)")->required();
    cmd->add_option("-m,--model", args->model, "GGUF model file")->required();
    cmd->add_option("-o,--out", args->out, "Per-item results (JSONL)");
    cmd->add_option("--data-dir", args->data_dir, "Replaces {data_dir} in the task's data paths")
        ->capture_default_str();
    cmd->add_option("--form", args->form, "Prompt form: auto (chat if the model has a template), plain, chat")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "plain", "chat"}));
    cmd->add_option("--answer", args->answer,
                    "How the answer is read: loglikelihood, first_token or generate (default: the task's "
                    "scoring.answer)")
        ->check(CLI::IsMember({"loglikelihood", "first_token", "generate"}));
    cmd->add_option("--limit", args->limit, "Items per split (0 = all): a seeded sample, stratified by gold answer")
        ->capture_default_str();
    cmd->add_option("--limit-order", args->limit_order, "sample (seeded, stratified) or file (the first N rows)")
        ->capture_default_str()
        ->check(CLI::IsMember({"sample", "file"}));
    cmd->add_option("--limit-seed", args->limit_seed, "Seed of the limit's sample")->capture_default_str();
    cmd->add_option("-t,--threads", args->threads, "CPU threads (0 = all)")->capture_default_str();
    cmd->add_option("-b,--batch", args->batch, "Tokens per llama_decode call")->capture_default_str();
    cmd->callback([args] { run_eval(*args); });
}

}  // namespace compeval::cli
