#include "model/random_model.hpp"

#include "backends/llama_runtime.hpp"
#include "util/error.hpp"

#include <ggml.h>
#include <gguf.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <random>

#include <unistd.h>

#ifndef COMPEVAL_LLAMA_VOCAB_DIR
#define COMPEVAL_LLAMA_VOCAB_DIR ""
#endif

namespace compeval {
namespace {

using GgufPtr = std::unique_ptr<gguf_context, decltype(&gguf_free)>;
using GgmlPtr = std::unique_ptr<ggml_context, decltype(&ggml_free)>;

struct TensorPlan {
    std::string name;
    int64_t ne0;
    int64_t ne1;   // 1 for vectors
    float stddev;  // 0: a norm weight, filled with ones
};

std::vector<TensorPlan> plan_tensors(const RandomModelSpec & s, int64_t n_vocab) {
    const int64_t head_dim = s.n_embd / s.n_head;
    const int64_t n_embd_kv = head_dim * s.n_head_kv;
    const auto fan_in = [](int64_t n) { return 1.0F / std::sqrt(static_cast<float>(n)); };
    std::vector<TensorPlan> plan;
    plan.push_back({"token_embd.weight", s.n_embd, n_vocab, 1.0F});
    for (int il = 0; il < s.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        plan.push_back({p + "attn_norm.weight", s.n_embd, 1, 0.0F});
        plan.push_back({p + "attn_q.weight", s.n_embd, s.n_embd, fan_in(s.n_embd)});
        plan.push_back({p + "attn_k.weight", s.n_embd, n_embd_kv, fan_in(s.n_embd)});
        plan.push_back({p + "attn_v.weight", s.n_embd, n_embd_kv, fan_in(s.n_embd)});
        plan.push_back({p + "attn_output.weight", s.n_embd, s.n_embd, fan_in(s.n_embd)});
        plan.push_back({p + "ffn_norm.weight", s.n_embd, 1, 0.0F});
        plan.push_back({p + "ffn_gate.weight", s.n_embd, s.n_ff, fan_in(s.n_embd)});
        plan.push_back({p + "ffn_up.weight", s.n_embd, s.n_ff, fan_in(s.n_embd)});
        plan.push_back({p + "ffn_down.weight", s.n_ff, s.n_embd, fan_in(s.n_ff)});
    }
    plan.push_back({"output_norm.weight", s.n_embd, 1, 0.0F});
    plan.push_back({"output.weight", s.n_embd, n_vocab, s.output_scale * fan_in(s.n_embd)});
    return plan;
}

}  // namespace

std::vector<std::string> random_model_presets() {
    return {"tiny", "small", "base"};
}

RandomModelSpec random_model_preset(const std::string & preset) {
    RandomModelSpec s;
    s.name = "compeval-random-" + preset;
    if (preset == "tiny") {
        return s;
    }
    if (preset == "small") {
        s.n_embd = 256;
        s.n_layer = 4;
        s.n_head = 8;
        s.n_head_kv = 8;
        s.n_ff = 704;
        return s;
    }
    if (preset == "base") {
        s.n_embd = 768;
        s.n_layer = 8;
        s.n_head = 12;
        s.n_head_kv = 12;
        s.n_ff = 2048;
        return s;
    }
    throw Error("unknown model preset '" + preset + "' (tiny, small, base)");
}

std::string default_vocab_path() {
    return std::string(COMPEVAL_LLAMA_VOCAB_DIR) + "/ggml-vocab-llama-spm.gguf";
}

uint64_t write_llama_model(const RandomModelSpec & spec, const TensorFill & fill, const std::string & out_path,
                           const std::vector<std::pair<std::string, std::string>> & metadata) {
    ensure_llama_backend();
    if (spec.n_embd % spec.n_head != 0 || spec.n_head % spec.n_head_kv != 0) {
        throw Error("n_embd must be divisible by n_head, and n_head by n_head_kv");
    }
    const std::string vocab_path = spec.vocab_path.empty() ? default_vocab_path() : spec.vocab_path;
    gguf_init_params vocab_params{true, nullptr};
    GgufPtr vocab(gguf_init_from_file(vocab_path.c_str(), vocab_params), &gguf_free);
    if (!vocab) {
        throw Error(vocab_path + ": cannot read vocab GGUF");
    }
    const int64_t tokens_key = gguf_find_key(vocab.get(), "tokenizer.ggml.tokens");
    if (tokens_key < 0) {
        throw Error(vocab_path + ": no tokenizer.ggml.tokens");
    }
    const auto n_vocab = static_cast<int64_t>(gguf_get_arr_n(vocab.get(), tokens_key));

    GgufPtr out(gguf_init_empty(), &gguf_free);
    gguf_set_kv(out.get(), vocab.get());
    // Keep only the tokenizer; the architecture keys are ours.
    for (int64_t k = gguf_get_n_kv(out.get()) - 1; k >= 0; --k) {
        const std::string key = gguf_get_key(out.get(), k);
        if (key.rfind("tokenizer.", 0) != 0) {
            gguf_remove_key(out.get(), key.c_str());
        }
    }
    if (!spec.chat_template.empty()) {
        gguf_set_val_str(out.get(), "tokenizer.chat_template", spec.chat_template.c_str());
    } else {
        gguf_remove_key(out.get(), "tokenizer.chat_template");
    }
    gguf_set_val_str(out.get(), "general.architecture", "llama");
    gguf_set_val_str(out.get(), "general.name", spec.name.c_str());
    gguf_set_val_u32(out.get(), "general.file_type", spec.f16 ? 1 : 0);
    gguf_set_val_u32(out.get(), "llama.context_length", static_cast<uint32_t>(spec.n_ctx_train));
    gguf_set_val_u32(out.get(), "llama.embedding_length", static_cast<uint32_t>(spec.n_embd));
    gguf_set_val_u32(out.get(), "llama.block_count", static_cast<uint32_t>(spec.n_layer));
    gguf_set_val_u32(out.get(), "llama.feed_forward_length", static_cast<uint32_t>(spec.n_ff));
    gguf_set_val_u32(out.get(), "llama.attention.head_count", static_cast<uint32_t>(spec.n_head));
    gguf_set_val_u32(out.get(), "llama.attention.head_count_kv", static_cast<uint32_t>(spec.n_head_kv));
    gguf_set_val_u32(out.get(), "llama.rope.dimension_count", static_cast<uint32_t>(spec.n_embd / spec.n_head));
    gguf_set_val_f32(out.get(), "llama.rope.freq_base", 10000.0F);
    gguf_set_val_f32(out.get(), "llama.attention.layer_norm_rms_epsilon", 1e-5F);
    gguf_set_val_u32(out.get(), "llama.vocab_size", static_cast<uint32_t>(n_vocab));
    gguf_set_val_u64(out.get(), "compeval.seed", spec.seed);
    for (const auto & [key, value] : metadata) {
        gguf_set_val_str(out.get(), key.c_str(), value.c_str());
    }

    const auto plan = plan_tensors(spec, n_vocab);
    size_t bytes = 0;
    for (const auto & t : plan) {
        const ggml_type type = (t.ne1 > 1 && spec.f16) ? GGML_TYPE_F16 : GGML_TYPE_F32;
        bytes += ggml_row_size(type, t.ne0) * static_cast<size_t>(t.ne1) + ggml_tensor_overhead();
    }
    ggml_init_params gparams{bytes + (1 << 20), nullptr, false};
    GgmlPtr ctx(ggml_init(gparams), &ggml_free);
    if (!ctx) {
        throw Error("cannot allocate " + std::to_string(bytes) + " bytes for the model");
    }
    uint64_t n_params = 0;
    std::vector<float> values;
    for (size_t ti = 0; ti < plan.size(); ++ti) {
        const auto & t = plan[ti];
        const ggml_type type = (t.ne1 > 1 && spec.f16) ? GGML_TYPE_F16 : GGML_TYPE_F32;
        ggml_tensor * tensor =
            t.ne1 > 1 ? ggml_new_tensor_2d(ctx.get(), type, t.ne0, t.ne1) : ggml_new_tensor_1d(ctx.get(), type, t.ne0);
        ggml_set_name(tensor, t.name.c_str());
        const auto n = static_cast<size_t>(t.ne0 * t.ne1);
        values.assign(n, 1.0F);
        fill(ti, t.name, t.ne0, t.ne1, values);
        if (values.size() != n) {
            throw Error(out_path + ": tensor " + t.name + " got " + std::to_string(values.size()) + " values, needs " +
                        std::to_string(n));
        }
        if (type == GGML_TYPE_F16) {
            ggml_fp32_to_fp16_row(values.data(), static_cast<ggml_fp16_t *>(tensor->data), static_cast<int64_t>(n));
        } else {
            std::copy(values.begin(), values.end(), static_cast<float *>(tensor->data));
        }
        gguf_add_tensor(out.get(), tensor);
        n_params += n;
    }
    const auto parent = std::filesystem::path(out_path).parent_path();
    if (!parent.empty()) {
        std::filesystem::create_directories(parent);
    }
    // Write to a temporary name first: an interrupted write never leaves a
    // truncated file under the final name.
    const std::string tmp = out_path + ".tmp." + std::to_string(::getpid());
    if (!gguf_write_to_file(out.get(), tmp.c_str(), false)) {
        throw Error(out_path + ": cannot write GGUF");
    }
    std::filesystem::rename(tmp, out_path);
    return n_params;
}

uint64_t write_random_model(const RandomModelSpec & spec, const std::string & out_path) {
    // The vocab size only changes the shapes, never which stddev a tensor gets.
    const auto plan = plan_tensors(spec, 1);
    return write_llama_model(
        spec,
        [&](size_t index, const std::string &, int64_t, int64_t, std::vector<float> & values) {
            const float stddev = plan[index].stddev;
            if (stddev > 0.0F) {
                // One stream per tensor: the weights do not depend on tensor order.
                std::mt19937_64 rng(spec.seed * 1000003ULL + index);
                std::normal_distribution<float> normal(0.0F, stddev);
                for (auto & v : values) {
                    v = normal(rng);
                }
            }
        },
        out_path);
}

}  // namespace compeval
