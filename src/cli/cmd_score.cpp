#include "backends/model.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/multiple_choice.hpp"
#include "util/error.hpp"
#include "util/machine.hpp"
#include "util/sha256.hpp"
#include "version.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>

namespace compeval::cli {
namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int /*signal*/) {
    g_interrupted = true;
}

struct ScoreArgs {
    std::string model;
    std::string items;
    std::string out;
    int threads = 0;
    int batch = 256;
    int sequences = 128;
    size_t chunk = 1024;
    bool f16_kv = false;
    bool flash_attention = false;
    int gpu_layers = 999;
};

nlohmann::json item_line(const McItem & item, const McItemScore & score) {
    nlohmann::json choices = nlohmann::json::array();
    for (size_t i = 0; i < score.choices.size(); ++i) {
        const auto & c = score.choices[i];
        choices.push_back({{"logprob", c.logprob},
                           {"n_tokens", c.n_tokens},
                           {"greedy", c.greedy},
                           {"boundary", boundary_name(score.boundaries.at(i))}});
    }
    return {{"id", item.id},
            {"gold", item.gold},
            {"pred", score.pred},
            {"pred_norm_tok", score.pred_norm},
            {"correct", score.pred == item.gold},
            {"correct_norm_tok", score.pred_norm == item.gold},
            {"choices", choices}};
}

void run_score(const ScoreArgs & args) {
    const auto start = std::chrono::steady_clock::now();
    const auto items = read_mc_items(args.items);
    ModelOptions model_options;
    model_options.n_gpu_layers = args.gpu_layers;
    Model model(args.model, model_options);
    EngineOptions options;
    options.threads = args.threads;
    options.batch = args.batch;
    options.max_sequences = args.sequences;
    options.f32_kv_cache = !args.f16_kv;
    options.flash_attention = args.flash_attention;
    options.cancel = &g_interrupted;
    ProgressReporter progress("items");
    size_t items_done = 0;
    size_t chunk_size = std::min(args.chunk, items.size());
    options.progress = [&](size_t leaves_done, size_t leaves_total) {
        progress.update(items_done + chunk_size * leaves_done / std::max<size_t>(leaves_total, 1), items.size());
    };
    LoglikelihoodEngine engine(model, options);

    std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw Error(args.out + ": cannot write");
    }
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    std::vector<McItemScore> scores;
    try {
        scores = score_mc_items(engine, items, args.items, args.chunk,
                                [&](size_t first, const std::vector<McItemScore> & chunk) {
                                    for (size_t i = 0; i < chunk.size(); ++i) {
                                        out << item_line(items[first + i], chunk[i]).dump() << '\n';
                                    }
                                    out.flush();
                                    items_done = first + chunk.size();
                                    chunk_size = std::min(args.chunk, items.size() - items_done);
                                });
    } catch (const Error & e) {
        if (g_interrupted) {
            out.flush();
            throw Error(
                fmt::format("interrupted: {} of {} items were written to {}", items_done, items.size(), args.out));
        }
        throw;
    }
    progress.finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const McSummary summary = summarize(items, scores);
    const auto & stats = engine.stats();
    const auto & facts = model.facts();

    // The roofline's count: every decoded token through the non-embedding
    // weights, every read row through the output layer (2 FLOPs per weight).
    const double useful_gflop =
        2.0 *
        (static_cast<double>(facts.n_params_non_embedding) * static_cast<double>(stats.tokens_decoded) +
         static_cast<double>(facts.n_embd) * facts.n_vocab * static_cast<double>(stats.logit_rows)) /
        1e9;
    nlohmann::json meta = {{"compeval_version", kVersion},
                           {"llama_cpp", kLlamaVersion},
                           {"machine", machine_description()},
                           {"model",
                            {{"path", facts.path},
                             {"sha256", facts.sha256},
                             {"architecture", facts.architecture},
                             {"n_params", facts.n_params},
                             {"file_type", facts.file_type},
                             {"tensor_types", facts.tensor_types},
                             {"bits_per_weight", facts.bits_per_weight},
                             {"weight_repacking", facts.weight_repacking},
                             {"description", facts.description}}},
                           {"items", {{"path", args.items}, {"sha256", sha256_file(args.items)}, {"n", items.size()}}},
                           {"prompt", "plain (context + choice, lm-eval token boundary)"},
                           {"engine",
                            {{"batch", args.batch},
                             {"threads", engine.options().threads},
                             {"max_sequences", engine.options().max_sequences},
                             {"kv_cache", args.f16_kv ? "f16" : "f32"},
                             {"flash_attention", args.flash_attention}}},
                           {"metrics", {{"acc", summary.acc()}, {"acc_norm_tok", summary.acc_norm_tok()}}},
                           {"cost",
                            {{"seconds", seconds},
                             {"decode_seconds", stats.decode_seconds},
                             {"tokens_decoded", stats.tokens_decoded},
                             {"pad_tokens", stats.pad_tokens},
                             {"logit_rows", stats.logit_rows},
                             {"useful_gflop", useful_gflop},
                             {"tokens_requested", stats.tokens_requested}}}};
    std::ofstream(args.out + ".meta.json") << meta.dump(2) << '\n';

    fmt::print("model      {} ({} params, sha256 {}...)\n", facts.path, facts.n_params, facts.sha256.substr(0, 12));
    fmt::print("items      {} ({} items)\n", args.items, summary.n_items);
    fmt::print("acc        {:.4f} ({}/{})\n", summary.acc(), summary.n_correct, summary.n_items);
    fmt::print("acc_norm   {:.4f} ({}/{}, mean log-prob per token)\n", summary.acc_norm_tok(), summary.n_correct_norm,
               summary.n_items);
    fmt::print("tokens     {} decoded for {} requested ({:.1f}x saved by prefix sharing)\n", stats.tokens_decoded,
               stats.tokens_requested,
               stats.tokens_decoded == 0
                   ? 0.0
                   : static_cast<double>(stats.tokens_requested) / static_cast<double>(stats.tokens_decoded));
    fmt::print("time       {:.2f}s ({:.1f} items/s, {:.0f} tokens/s decoded)\n", seconds,
               static_cast<double>(summary.n_items) / seconds,
               static_cast<double>(stats.tokens_decoded) / std::max(stats.decode_seconds, 1e-9));
    fmt::print("compute    {:.1f} GFLOP useful, {:.1f} GFLOP/s over the decode calls\n", useful_gflop,
               useful_gflop / std::max(stats.decode_seconds, 1e-9));
    fmt::print("wrote      {} and {}.meta.json\n", args.out, args.out);
}

}  // namespace

void add_score_command(CLI::App & app) {
    auto args = std::make_shared<ScoreArgs>();
    auto * cmd = app.add_subcommand(
        "score",
        "Score multiple-choice items: each choice's summed log-likelihood as a continuation of the context.\n"
        "Items are JSONL lines {\"id\":..,\"context\":\"..\",\"choices\":[\"..\",..],\"gold\":0}; a choice\n"
        "usually starts with a space (\" Paris\"). Writes one JSONL line per item to --out.");
    cmd->add_option("-m,--model", args->model, "GGUF model file")->required();
    cmd->add_option("-i,--items", args->items, "Items file (JSONL)")->required();
    cmd->add_option("-o,--out", args->out, "Output JSONL (per-item scores); metadata goes to OUT.meta.json")
        ->required();
    cmd->add_option("-t,--threads", args->threads, "CPU threads (0 = all)")->capture_default_str();
    cmd->add_option("-b,--batch", args->batch, "Tokens per llama_decode call")
        ->capture_default_str()
        ->check(CLI::Range(1, 65536));
    cmd->add_option("--sequences", args->sequences, "KV sequences evaluated side by side (2-255)")
        ->capture_default_str()
        ->check(CLI::Range(2, 256));
    cmd->add_option("--chunk", args->chunk, "Items scored (and written) per chunk")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--f16-kv", args->f16_kv, "F16 KV cache (faster, ~5e-3 nats less exact; default F32)");
    cmd->add_flag("--flash-attn", args->flash_attention,
                  "Flash attention (faster on CPU, up to ~2e-2 nats less exact; default off)");
    cmd->add_option("--gpu-layers", args->gpu_layers, "Layers to offload in a GPU build (CUDA)")->capture_default_str();
    cmd->callback([args] { run_score(*args); });
}

}  // namespace compeval::cli
