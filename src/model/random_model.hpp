#pragma once
// Writes GGUF files of several architectures (see architectures.hpp) with
// seeded random weights and a real tokenizer, so that the engine, the tests
// and the demo run with no download.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace compeval {

// How matrices are stored; vectors (norms, biases) are always F32, as
// llama.cpp's converter writes them.
enum class WeightType { F32, F16, BF16 };
std::string weight_type_name(WeightType type);           // "f32", "f16", "bf16"
WeightType parse_weight_type(const std::string & name);  // throws compeval::Error

struct RandomModelSpec {
    std::string name = "compeval-random";
    std::string architecture = "llama";  // one of model_architectures()
    int n_embd = 64;
    int n_layer = 2;
    int n_head = 4;
    int n_head_kv = 4;
    int n_ff = 192;
    int head_dim = 0;        // 0: n_embd / n_head (llama, qwen3 and gemma may differ)
    int sliding_window = 0;  // gemma: 0 = the real models' window (Gemma 2: 4096, Gemma 3: 1024)
    int n_ctx_train = 2048;
    WeightType weights = WeightType::F16;
    uint64_t seed = 1;
    // A vocab-only GGUF from llama.cpp's models/ directory; its tokenizer.*
    // keys are copied verbatim.
    std::string vocab_path;
    std::string chat_template;  // written as tokenizer.chat_template when non-empty
    // Standard deviation of the output projection in units of 1/sqrt(n_embd):
    // 3 gives logits with a spread of ~3 nats, so choices differ clearly.
    float output_scale = 3.0F;
};

// Named presets: "tiny" (~4M params with a 32k vocab), "small" (~20M),
// "base" (~100M, the benchmark size).
RandomModelSpec random_model_preset(const std::string & preset);
std::vector<std::string> random_model_presets();

// Writes the GGUF; throws compeval::Error on failure. Returns the parameter count.
uint64_t write_random_model(const RandomModelSpec & spec, const std::string & out_path);

// Fills one tensor (index in file order, llama.cpp name, ggml shape ne0 x ne1,
// values row-major with ne0 fastest; `values` arrives holding ones). A torch
// tensor of shape [ne1, ne0] (a Linear's [out, in]) has exactly this layout.
using TensorFill =
    std::function<void(size_t index, const std::string & name, int64_t ne0, int64_t ne1, std::vector<float> & values)>;

// A GGUF of `spec.architecture` with `spec`'s shape and tokenizer and the
// given weights (the lab's exporter), plus string metadata keys. Tensor names
// and order are architecture_layout()'s; for llama: token_embd,
// blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate,
// ffn_up, ffn_down}, output_norm, output.
uint64_t write_model(const RandomModelSpec & spec, const TensorFill & fill, const std::string & out_path,
                     const std::vector<std::pair<std::string, std::string>> & metadata = {});

// The default vocab file (llama.cpp's ggml-vocab-llama-spm.gguf) of this build.
std::string default_vocab_path();

}  // namespace compeval
