#include "model/architectures.hpp"

#include "model/random_model.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cmath>

namespace compeval {
namespace {

float fan_in(int64_t n) {
    return 1.0F / std::sqrt(static_cast<float>(n));
}

// Biases get a small random value, so a model that ignored them would score
// differently from one that applies them.
constexpr float kBiasStddev = 0.1F;

struct Shape {
    int64_t embd, head_dim, q, kv, ff, vocab;
};

Shape shape_of(const RandomModelSpec & spec, int64_t n_vocab) {
    const int64_t head_dim = spec.head_dim > 0 ? spec.head_dim : spec.n_embd / spec.n_head;
    return {spec.n_embd, head_dim, head_dim * spec.n_head, head_dim * spec.n_head_kv, spec.n_ff, n_vocab};
}

class LayoutBuilder {
  public:
    LayoutBuilder(const RandomModelSpec & spec, int64_t n_vocab) : spec_(spec), shape_(shape_of(spec, n_vocab)) {}

    const Shape & shape() const { return shape_; }

    void key(const std::string & name, MetadataValue value) { layout_.metadata.emplace_back(name, value); }

    // The keys every architecture reads, in the order the llama writer has always used.
    void common_keys() {
        key("context_length", static_cast<uint32_t>(spec_.n_ctx_train));
        key("embedding_length", static_cast<uint32_t>(spec_.n_embd));
        key("block_count", static_cast<uint32_t>(spec_.n_layer));
        key("feed_forward_length", static_cast<uint32_t>(spec_.n_ff));
        key("attention.head_count", static_cast<uint32_t>(spec_.n_head));
        key("attention.head_count_kv", static_cast<uint32_t>(spec_.n_head_kv));
    }

    void head_size_keys() {
        key("attention.key_length", static_cast<uint32_t>(shape_.head_dim));
        key("attention.value_length", static_cast<uint32_t>(shape_.head_dim));
    }

    void matrix(const std::string & name, int64_t ne0, int64_t ne1) { tensor({name, ne0, ne1, fan_in(ne0)}); }
    void norm(const std::string & name, int64_t n) { tensor({name, n, 1, 0.0F}); }
    void bias(const std::string & name, int64_t n) { tensor({name, n, 1, kBiasStddev}); }
    void tensor(TensorPlan plan) { layout_.tensors.push_back(std::move(plan)); }

    // Token embeddings: unit variance when there is an output matrix; when the
    // output is tied to them (they are the logit projection too), the output's
    // scale, so that logits spread by ~output_scale nats either way.
    void embeddings(bool tied) {
        tensor(
            {"token_embd.weight", shape_.embd, shape_.vocab, tied ? spec_.output_scale * fan_in(shape_.embd) : 1.0F});
    }
    void output() { tensor({"output.weight", shape_.embd, shape_.vocab, spec_.output_scale * fan_in(shape_.embd)}); }

    // Separate Q, K, V and the output projection.
    void attention(const std::string & p, bool qkv_bias = false) {
        matrix(p + "attn_q.weight", shape_.embd, shape_.q);
        if (qkv_bias) {
            bias(p + "attn_q.bias", shape_.q);
        }
        matrix(p + "attn_k.weight", shape_.embd, shape_.kv);
        if (qkv_bias) {
            bias(p + "attn_k.bias", shape_.kv);
        }
        matrix(p + "attn_v.weight", shape_.embd, shape_.kv);
        if (qkv_bias) {
            bias(p + "attn_v.bias", shape_.kv);
        }
    }
    void gated_ffn(const std::string & p) {
        matrix(p + "ffn_gate.weight", shape_.embd, shape_.ff);
        matrix(p + "ffn_up.weight", shape_.embd, shape_.ff);
        matrix(p + "ffn_down.weight", shape_.ff, shape_.embd);
    }

    ArchitectureLayout take() { return std::move(layout_); }
    ArchitectureLayout & layout() { return layout_; }

  private:
    const RandomModelSpec & spec_;
    Shape shape_{};
    ArchitectureLayout layout_;
};

std::string block(int il) {
    return "blk." + std::to_string(il) + ".";
}

// Llama 2/3, Mistral, CodeLlama (src/models/llama.cpp): RMS norm, SwiGLU,
// RoPE on adjacent pairs, separate output matrix.
ArchitectureLayout llama_layout(const RandomModelSpec & spec, LayoutBuilder & b) {
    const auto & s = b.shape();
    b.common_keys();
    if (s.head_dim != s.embd / spec.n_head) {
        b.head_size_keys();
    }
    b.key("rope.dimension_count", static_cast<uint32_t>(s.head_dim));
    b.key("rope.freq_base", 10000.0F);
    b.key("attention.layer_norm_rms_epsilon", 1e-5F);
    b.key("vocab_size", static_cast<uint32_t>(s.vocab));
    b.embeddings(false);
    for (int il = 0; il < spec.n_layer; ++il) {
        const std::string p = block(il);
        b.norm(p + "attn_norm.weight", s.embd);
        b.attention(p);
        b.matrix(p + "attn_output.weight", s.q, s.embd);
        b.norm(p + "ffn_norm.weight", s.embd);
        b.gated_ffn(p);
    }
    b.norm("output_norm.weight", s.embd);
    b.output();
    return b.take();
}

// Falcon 7B (src/models/falcon.cpp): LayerNorm with bias, fused QKV, a GELU
// FFN in parallel with attention, RoPE NeoX.
ArchitectureLayout falcon_layout(const RandomModelSpec & spec, LayoutBuilder & b) {
    const auto & s = b.shape();
    b.common_keys();
    b.key("rope.dimension_count", static_cast<uint32_t>(s.head_dim));
    b.key("rope.freq_base", 10000.0F);
    b.key("attention.layer_norm_epsilon", 1e-5F);
    b.embeddings(false);
    for (int il = 0; il < spec.n_layer; ++il) {
        const std::string p = block(il);
        b.norm(p + "attn_norm.weight", s.embd);
        b.bias(p + "attn_norm.bias", s.embd);
        b.matrix(p + "attn_qkv.weight", s.embd, s.embd + 2 * s.kv);
        b.matrix(p + "attn_output.weight", s.embd, s.embd);
        b.matrix(p + "ffn_up.weight", s.embd, s.ff);
        b.matrix(p + "ffn_down.weight", s.ff, s.embd);
    }
    b.norm("output_norm.weight", s.embd);
    b.bias("output_norm.bias", s.embd);
    b.output();
    return b.take();
}

// Qwen2 / Qwen2.5 (src/models/qwen2.cpp): llama's blocks with Q/K/V biases, RoPE NeoX.
ArchitectureLayout qwen2_layout(const RandomModelSpec & spec, LayoutBuilder & b) {
    const auto & s = b.shape();
    b.common_keys();
    b.key("rope.freq_base", 1000000.0F);
    b.key("attention.layer_norm_rms_epsilon", 1e-6F);
    b.embeddings(false);
    for (int il = 0; il < spec.n_layer; ++il) {
        const std::string p = block(il);
        b.norm(p + "attn_norm.weight", s.embd);
        b.attention(p, true);
        b.matrix(p + "attn_output.weight", s.embd, s.embd);
        b.norm(p + "ffn_norm.weight", s.embd);
        b.gated_ffn(p);
    }
    b.norm("output_norm.weight", s.embd);
    b.output();
    return b.take();
}

// Qwen3 (src/models/qwen3.cpp): per-head RMS norm of Q and K, a head size of
// its own, output tied to the embeddings (as the small Qwen3 models ship).
ArchitectureLayout qwen3_layout(const RandomModelSpec & spec, LayoutBuilder & b) {
    const auto & s = b.shape();
    b.common_keys();
    b.head_size_keys();
    b.key("rope.freq_base", 1000000.0F);
    b.key("attention.layer_norm_rms_epsilon", 1e-6F);
    b.embeddings(true);
    for (int il = 0; il < spec.n_layer; ++il) {
        const std::string p = block(il);
        b.norm(p + "attn_norm.weight", s.embd);
        b.attention(p);
        b.norm(p + "attn_q_norm.weight", s.head_dim);
        b.norm(p + "attn_k_norm.weight", s.head_dim);
        b.matrix(p + "attn_output.weight", s.q, s.embd);
        b.norm(p + "ffn_norm.weight", s.embd);
        b.gated_ffn(p);
    }
    b.norm("output_norm.weight", s.embd);
    return b.take();
}

// Phi-3 (src/models/phi3.cpp): fused QKV, gate and up fused into one
// [gate | up] matrix of 2 x n_ff rows, RoPE NeoX.
ArchitectureLayout phi3_layout(const RandomModelSpec & spec, LayoutBuilder & b) {
    const auto & s = b.shape();
    b.common_keys();
    b.key("rope.dimension_count", static_cast<uint32_t>(s.head_dim));
    b.key("rope.freq_base", 10000.0F);
    b.key("attention.layer_norm_rms_epsilon", 1e-5F);
    b.embeddings(false);
    for (int il = 0; il < spec.n_layer; ++il) {
        const std::string p = block(il);
        b.norm(p + "attn_norm.weight", s.embd);
        b.matrix(p + "attn_qkv.weight", s.embd, s.embd + 2 * s.kv);
        b.matrix(p + "attn_output.weight", s.embd, s.embd);
        b.norm(p + "ffn_norm.weight", s.embd);
        b.matrix(p + "ffn_up.weight", s.embd, 2 * s.ff);
        b.matrix(p + "ffn_down.weight", s.ff, s.embd);
    }
    b.norm("output_norm.weight", s.embd);
    b.output();
    return b.take();
}

// Gemma 2 and 3 (src/models/gemma2.cpp, gemma3.cpp): embeddings scaled by
// sqrt(n_embd), norms before and after attention and FFN, GELU FFN, sliding
// window attention on some layers, output always tied. Gemma 2 soft-caps the
// attention logits and the final logits; Gemma 3 normalizes Q and K instead.
// Norm weights are stored as llama.cpp multiplies them (the converter adds
// Gemma's +1), so 1.0 is the neutral value here as for the other models.
ArchitectureLayout gemma_layout(const RandomModelSpec & spec, LayoutBuilder & b, int version) {
    const auto & s = b.shape();
    b.common_keys();
    b.head_size_keys();
    b.key("attention.layer_norm_rms_epsilon", 1e-6F);
    const int window = spec.sliding_window > 0 ? spec.sliding_window : (version == 2 ? 4096 : 1024);
    b.key("attention.sliding_window", static_cast<uint32_t>(window));
    if (version == 2) {
        b.key("rope.freq_base", 10000.0F);
        b.key("attn_logit_softcapping", 50.0F);
        b.key("final_logit_softcapping", 30.0F);
    } else {
        // Layer il uses the window iff il % pattern < pattern - 1: with fewer
        // than Gemma 3's six layers, the last one still attends globally.
        b.key("attention.sliding_window_pattern", static_cast<uint32_t>(std::min(6, spec.n_layer)));
        b.key("rope.freq_base", 1000000.0F);
        b.key("rope.freq_base_swa", 10000.0F);
    }
    b.embeddings(true);
    for (int il = 0; il < spec.n_layer; ++il) {
        const std::string p = block(il);
        b.norm(p + "attn_norm.weight", s.embd);
        b.attention(p);
        if (version == 3) {
            b.norm(p + "attn_q_norm.weight", s.head_dim);
            b.norm(p + "attn_k_norm.weight", s.head_dim);
        }
        b.matrix(p + "attn_output.weight", s.q, s.embd);
        b.norm(p + "post_attention_norm.weight", s.embd);
        b.norm(p + "ffn_norm.weight", s.embd);
        b.gated_ffn(p);
        b.norm(p + "post_ffw_norm.weight", s.embd);
    }
    b.norm("output_norm.weight", s.embd);
    b.layout().embedding_scale = std::sqrt(static_cast<float>(s.embd));
    return b.take();
}

}  // namespace

std::vector<std::string> model_architectures() {
    return {"llama", "falcon", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"};
}

ArchitectureLayout architecture_layout(const RandomModelSpec & spec, int64_t n_vocab) {
    const std::string & arch = spec.architecture;
    if (spec.n_head <= 0 || spec.n_head_kv <= 0 || spec.n_head % spec.n_head_kv != 0) {
        throw Error("n_head must be a positive multiple of n_head_kv");
    }
    // Only llama, qwen3 and gemma size attention by the head size; the others
    // size it by n_embd, so their heads must split n_embd evenly.
    const bool own_head_size = arch == "llama" || arch == "qwen3" || arch == "gemma2" || arch == "gemma3";
    if (spec.head_dim > 0 && !own_head_size && spec.head_dim * spec.n_head != spec.n_embd) {
        throw Error(arch + " needs head_dim x n_head = n_embd");
    }
    if (spec.head_dim <= 0 && spec.n_embd % spec.n_head != 0) {
        throw Error("n_embd must be divisible by n_head");
    }
    LayoutBuilder b(spec, n_vocab);
    if (arch == "llama") {
        return llama_layout(spec, b);
    }
    if (arch == "falcon") {
        return falcon_layout(spec, b);
    }
    if (arch == "qwen2") {
        return qwen2_layout(spec, b);
    }
    if (arch == "qwen3") {
        return qwen3_layout(spec, b);
    }
    if (arch == "phi3") {
        return phi3_layout(spec, b);
    }
    if (arch == "gemma2" || arch == "gemma3") {
        return gemma_layout(spec, b, arch == "gemma2" ? 2 : 3);
    }
    std::string known;
    for (const auto & a : model_architectures()) {
        known += (known.empty() ? "" : ", ") + a;
    }
    throw Error("unknown architecture '" + arch + "' (" + known + ")");
}

}  // namespace compeval
