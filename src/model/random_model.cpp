#include "model/random_model.hpp"

#include "backends/llama_runtime.hpp"
#include "model/architectures.hpp"
#include "util/error.hpp"

#include <ggml.h>
#include <gguf.h>
#include <llama.h>

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

ggml_type matrix_type(WeightType type) {
    switch (type) {
        case WeightType::F16:
            return GGML_TYPE_F16;
        case WeightType::BF16:
            return GGML_TYPE_BF16;
        case WeightType::F32:
            break;
    }
    return GGML_TYPE_F32;
}

uint32_t file_type(WeightType type) {  // llama_ftype
    switch (type) {
        case WeightType::F16:
            return LLAMA_FTYPE_MOSTLY_F16;
        case WeightType::BF16:
            return LLAMA_FTYPE_MOSTLY_BF16;
        case WeightType::F32:
            break;
    }
    return LLAMA_FTYPE_ALL_F32;
}

void set_metadata(gguf_context * out, const std::string & key, const MetadataValue & value) {
    if (const auto * u = std::get_if<uint32_t>(&value)) {
        gguf_set_val_u32(out, key.c_str(), *u);
    } else if (const auto * f = std::get_if<float>(&value)) {
        gguf_set_val_f32(out, key.c_str(), *f);
    } else {
        gguf_set_val_bool(out, key.c_str(), std::get<bool>(value));
    }
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

std::string weight_type_name(WeightType type) {
    switch (type) {
        case WeightType::F16:
            return "f16";
        case WeightType::BF16:
            return "bf16";
        case WeightType::F32:
            break;
    }
    return "f32";
}

WeightType parse_weight_type(const std::string & name) {
    for (const auto type : {WeightType::F32, WeightType::F16, WeightType::BF16}) {
        if (weight_type_name(type) == name) {
            return type;
        }
    }
    throw Error("unknown weight type '" + name + "' (f32, f16, bf16)");
}

uint64_t write_model(const RandomModelSpec & spec, const TensorFill & fill, const std::string & out_path,
                     const std::vector<std::pair<std::string, std::string>> & metadata) {
    ensure_llama_backend();
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
    const ArchitectureLayout layout = architecture_layout(spec, n_vocab);
    gguf_set_val_str(out.get(), "general.architecture", spec.architecture.c_str());
    gguf_set_val_str(out.get(), "general.name", spec.name.c_str());
    gguf_set_val_u32(out.get(), "general.file_type", file_type(spec.weights));
    for (const auto & [key, value] : layout.metadata) {
        set_metadata(out.get(), spec.architecture + "." + key, value);
    }
    gguf_set_val_u64(out.get(), "compeval.seed", spec.seed);
    for (const auto & [key, value] : metadata) {
        gguf_set_val_str(out.get(), key.c_str(), value.c_str());
    }

    const auto & plan = layout.tensors;
    const ggml_type matrices = matrix_type(spec.weights);
    size_t bytes = 0;
    for (const auto & t : plan) {
        const ggml_type type = t.ne1 > 1 ? matrices : GGML_TYPE_F32;
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
        const ggml_type type = t.ne1 > 1 ? matrices : GGML_TYPE_F32;
        ggml_tensor * tensor =
            t.ne1 > 1 ? ggml_new_tensor_2d(ctx.get(), type, t.ne0, t.ne1) : ggml_new_tensor_1d(ctx.get(), type, t.ne0);
        ggml_set_name(tensor, t.name.c_str());
        const auto n = static_cast<size_t>(t.ne0 * t.ne1);
        values.assign(n, t.fill);
        fill(ti, t.name, t.ne0, t.ne1, values);
        if (values.size() != n) {
            throw Error(out_path + ": tensor " + t.name + " got " + std::to_string(values.size()) + " values, needs " +
                        std::to_string(n));
        }
        if (type == GGML_TYPE_F16) {
            ggml_fp32_to_fp16_row(values.data(), static_cast<ggml_fp16_t *>(tensor->data), static_cast<int64_t>(n));
        } else if (type == GGML_TYPE_BF16) {
            ggml_fp32_to_bf16_row(values.data(), static_cast<ggml_bf16_t *>(tensor->data), static_cast<int64_t>(n));
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
    const auto plan = architecture_layout(spec, 1).tensors;
    return write_model(
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
