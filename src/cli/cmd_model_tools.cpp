// Commands that make, describe or convert inputs: make-model, make-items, info,
// quantize, to-perplexity.
#include "backends/gguf_check.hpp"
#include "backends/model.hpp"
#include "backends/quant_types.hpp"
#include "cli/commands.hpp"
#include "data/mc_items.hpp"
#include "data/perplexity_format.hpp"
#include "data/synthetic_items.hpp"
#include "model/architectures.hpp"
#include "model/quantize.hpp"
#include "model/random_model.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <sstream>

namespace compeval::cli {
namespace {

struct MakeModelArgs {
    std::string preset = "tiny";
    std::string architecture = "llama";
    std::string out;
    std::string vocab;
    std::string chat_template_file;
    std::string weights = "f16";
    uint64_t seed = 1;
    bool f32 = false;
    int n_embd = 0;
    int n_layer = 0;
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = 0;
    int n_ff = 0;
    int sliding_window = 0;
};

void run_make_model(const MakeModelArgs & a) {
    RandomModelSpec spec = random_model_preset(a.preset);
    spec.architecture = a.architecture;
    spec.seed = a.seed;
    spec.weights = a.f32 ? WeightType::F32 : parse_weight_type(a.weights);
    spec.vocab_path = a.vocab;
    if (a.n_embd > 0) {
        spec.n_embd = a.n_embd;
    }
    if (a.n_layer > 0) {
        spec.n_layer = a.n_layer;
    }
    if (a.n_head > 0) {
        spec.n_head = a.n_head;
        spec.n_head_kv = a.n_head;
    }
    if (a.n_head_kv > 0) {
        spec.n_head_kv = a.n_head_kv;
    }
    spec.head_dim = a.head_dim;
    if (a.n_ff > 0) {
        spec.n_ff = a.n_ff;
    }
    spec.sliding_window = a.sliding_window;
    if (!a.chat_template_file.empty()) {
        std::ifstream in(a.chat_template_file);
        if (!in) {
            throw Error(a.chat_template_file + ": cannot read chat template");
        }
        std::stringstream text;
        text << in.rdbuf();
        spec.chat_template = text.str();
    }
    const uint64_t n_params = write_random_model(spec, a.out);
    fmt::print("wrote {} ({}, {} params, {}, seed {})\n", a.out, spec.architecture, n_params,
               weight_type_name(spec.weights), spec.seed);
}

}  // namespace

void add_make_model_command(CLI::App & app) {
    auto args = std::make_shared<MakeModelArgs>();
    auto * cmd =
        app.add_subcommand("make-model",
                           "Write a GGUF with seeded random weights (llama, falcon, qwen2, qwen3, gemma2, gemma3 or\n"
                           "phi3 architecture) and a real tokenizer (default llama.cpp's Llama-2 SPM): a model that\n"
                           "needs no download, for tests, demos and benchmarks.");
    cmd->add_option("-o,--out", args->out, "Output GGUF path")->required();
    cmd->add_option("-p,--preset", args->preset, "Size: tiny (~4M params), small (~20M), base (~100M)")
        ->capture_default_str()
        ->check(CLI::IsMember(random_model_presets()));
    cmd->add_option("--seed", args->seed, "Weight seed")->capture_default_str();
    cmd->add_option("--arch", args->architecture, "Architecture")
        ->capture_default_str()
        ->check(CLI::IsMember(model_architectures()));
    cmd->add_option("--weights", args->weights, "Matrix weight type: f32, f16 or bf16 (vectors stay f32)")
        ->capture_default_str()
        ->check(CLI::IsMember({"f32", "f16", "bf16"}));
    cmd->add_flag("--f32", args->f32, "Same as --weights f32");
    cmd->add_option("--vocab", args->vocab, "Vocab-only GGUF to take the tokenizer from")
        ->default_str(default_vocab_path());
    cmd->add_option("--chat-template", args->chat_template_file, "Jinja chat template file to embed");
    cmd->add_option("--n-embd", args->n_embd, "Override the preset's embedding size");
    cmd->add_option("--n-layer", args->n_layer, "Override the preset's block count");
    cmd->add_option("--n-head", args->n_head, "Override the preset's attention heads");
    cmd->add_option("--n-head-kv", args->n_head_kv, "Key/value heads (grouped-query attention; default n_head)");
    cmd->add_option("--head-dim", args->head_dim, "Head size (llama, qwen3, gemma; default n_embd / n_head)");
    cmd->add_option("--n-ff", args->n_ff, "Override the preset's feed-forward size");
    cmd->add_option("--sliding-window", args->sliding_window,
                    "Gemma's attention window in tokens (default the real models': 4096 / 1024)");
    cmd->callback([args] { run_make_model(*args); });
}

void add_info_command(CLI::App & app) {
    auto path = std::make_shared<std::string>();
    auto * cmd = app.add_subcommand("info", "Print a model's facts (parameters, layers, template, SHA-256) as JSON.");
    cmd->add_option("-m,--model", *path, "GGUF model file")->required();
    cmd->callback([path] {
        Model model(*path);
        const auto & f = model.facts();
        nlohmann::json j = {{"path", f.path},
                            {"sha256", f.sha256},
                            {"architecture", f.architecture},
                            {"name", f.name},
                            {"description", f.description},
                            {"n_params", f.n_params},
                            {"file_bytes", f.file_bytes},
                            {"file_type", f.file_type},
                            {"weight_repacking", f.weight_repacking},
                            {"tensor_types", f.tensor_types},
                            {"bits_per_weight", f.bits_per_weight},
                            {"n_layer", f.n_layer},
                            {"n_embd", f.n_embd},
                            {"n_head", f.n_head},
                            {"n_vocab", f.n_vocab},
                            {"n_ctx_train", f.n_ctx_train},
                            {"has_chat_template", f.has_chat_template}};
        if (f.has_chat_template) {
            // Where the template puts a final answer, and what its generation prompt opens.
            j["chat_turn_opening"] = f.chat_turn_opening;
            j["chat_written_prefix"] = f.chat_written_prefix;
            j["chat_answer_prefix"] = f.chat_answer_prefix;
            j["chat_answer_rule"] = f.chat_answer_rule;
            if (!f.chat_template_error.empty()) {
                j["chat_template_error"] = f.chat_template_error;
            }
        }
        fmt::print("{}\n", j.dump(2));
    });
}

void add_quantize_command(CLI::App & app) {
    struct Args {
        std::string model;
        std::string type;
        std::string out;
        QuantizeOptions options;
    };
    auto args = std::make_shared<Args>();
    std::string types;
    for (const auto & t : quant_types()) {
        types += fmt::format("\n  {:<7} {}", t.name, t.about);
    }
    auto * cmd = app.add_subcommand(
        "quantize",
        "Quantize a GGUF model with the pinned llama.cpp's quantizer (as llama-quantize does: a tensor whose rows\n"
        "do not fit the type's block size falls back to another type). The same input and type give the same\n"
        "bytes. Types:" +
            types);
    cmd->add_option("model", args->model, "Source GGUF (F32, F16 or BF16 weights)")->required();
    cmd->add_option("--type", args->type, "Weight type, e.g. Q4_K_M")->required();
    cmd->add_option("-o,--out", args->out, "Output GGUF (default beside the source: NAME-q4_k_m.gguf)");
    cmd->add_option("-t,--threads", args->options.threads, "Threads (0 = all; the bytes do not depend on it)")
        ->capture_default_str();
    cmd->add_flag("--allow-requantize", args->options.allow_requantize,
                  "Quantize a file that is already quantized (it loses more than quantizing the original)");
    cmd->callback([args] {
        const std::string out = args->out.empty() ? quantized_path_beside(args->model, args->type) : args->out;
        const auto result = quantize_gguf(args->model, out, args->type, args->options);
        const auto counts = check_gguf_file(out);
        std::string types;
        for (const auto & [type, n] : counts.params_by_type) {
            types += fmt::format("{}{} {}", types.empty() ? "" : ", ", type, n);
        }
        fmt::print("wrote {} ({}, {:.2f} bits per weight, {} bytes from {}, {:.1f} s)\ntensor types (weights): {}\n",
                   out, result.type,
                   8.0 * static_cast<double>(counts.tensor_bytes) / static_cast<double>(counts.params), result.bytes,
                   result.source_bytes, result.seconds, types);
    });
}

void add_to_perplexity_command(CLI::App & app) {
    auto items = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto * cmd = app.add_subcommand("to-perplexity",
                                    "Convert items JSONL to llama-perplexity's --multiple-choice binary format.");
    cmd->add_option("-i,--items", *items, "Items file (JSONL)")->required();
    cmd->add_option("-o,--out", *out, "Output binary file")->required();
    cmd->callback([items, out] {
        const auto parsed = read_mc_items(*items);
        write_perplexity_mc(parsed, *out);
        fmt::print("wrote {} ({} tasks)\n", *out, parsed.size());
    });
}

}  // namespace compeval::cli

namespace compeval::cli {

void add_make_items_command(CLI::App & app) {
    auto spec = std::make_shared<SyntheticItemsSpec>();
    auto out = std::make_shared<std::string>();
    auto * cmd =
        app.add_subcommand("make-items",
                           "Write seeded synthetic multiple-choice items (random words) as JSONL, for benchmarks.\n"
                           "--preamble-words N puts one shared N-word preamble before every context (few-shot shape).");
    cmd->add_option("-o,--out", *out, "Output JSONL")->required();
    cmd->add_option("-n,--items", spec->n_items, "Number of items")->capture_default_str();
    cmd->add_option("--choices", spec->n_choices, "Choices per item")->capture_default_str();
    cmd->add_option("--context-words", spec->context_words, "Words per context")->capture_default_str();
    cmd->add_option("--choice-words", spec->choice_words, "Words per choice")->capture_default_str();
    cmd->add_option("--preamble-words", spec->preamble_words, "Words in the shared preamble (0 = none)")
        ->capture_default_str();
    cmd->add_option("--seed", spec->seed, "Seed")->capture_default_str();
    cmd->callback([spec, out] {
        write_mc_items_jsonl(synthetic_mc_items(*spec), *out);
        fmt::print("wrote {} ({} items)\n", *out, spec->n_items);
    });
}

}  // namespace compeval::cli
