#pragma once
// The lab decoder's training step written out by hand: forward and backward
// over one flat float array of weights, a few BLAS products per layer and
// fused loops for everything between them. The lab's models are small
// (d <= 256, sentences of a dozen tokens), where a step through a framework's
// autograd spends most of its time in per-operator overhead and padding; this
// computes the function and its gradient on the real tokens only, with no
// allocation per step. The gradient is checked against finite differences and
// against values libtorch's autograd computed once (tests/data/lab-reference.json).
#include <cstdint>
#include <vector>

namespace compeval {

struct FlatDecoderShape {
    int n_embd = 0;
    int n_head = 0;
    int n_ff = 0;
    int n_vocab = 0;
};

// Where each weight starts in the flat array (in floats). Row-major: a
// linear layer's weight is [out, in], as GGUF stores it (ne0 = in).
struct FlatDecoderLayout {
    struct Layer {
        int64_t attn_norm = 0;
        int64_t ffn_norm = 0;
        int64_t qkv = 0;  // [3d, d]: wq, wk, wv stacked
        int64_t wo = 0;
        int64_t gate_up = 0;  // [2ff, d]: gate, up stacked
        int64_t down = 0;
    };
    int64_t embed = 0;  // [vocab, d]
    std::vector<Layer> layers;
    int64_t output_norm = 0;
    int64_t output = 0;  // [vocab, d]
};

// Sentences laid end to end: sentence s is tokens [starts[s], starts[s+1]),
// each token's id and the id it must predict.
struct TokenBatch {
    std::vector<int> ids;
    std::vector<int> targets;
    std::vector<int> starts;  // rows + 1 entries, starts[0] == 0
};

// Each sentence (word ids, no BOS/EOS) as the tokens [bos, w...] predicting [w..., eos].
TokenBatch make_token_batch(const std::vector<const std::vector<int> *> & sentences, int bos, int eos);

class FlatDecoder {
  public:
    FlatDecoder(const FlatDecoderShape & shape, FlatDecoderLayout layout, double rms_eps, double rope_base);

    // Mean cross-entropy over the batch's tokens at weights w; adds its gradient into g.
    double forward_backward(const float * w, float * g, const TokenBatch & batch);
    // Summed cross-entropy over the batch's tokens, no gradient.
    double loss_sum(const float * params, const TokenBatch & batch);
    // log p(target) of each of the batch's tokens, the log-softmax in double.
    std::vector<double> token_logprobs(const float * params, const TokenBatch & batch);

  private:
    struct LayerState {  // what backward needs from forward
        std::vector<float> x, r1, h1, qkv, probs, att, x_mid, r2, h2, gu, act;
    };
    void forward_logits(const float * w, const TokenBatch & batch);
    double forward(const float * w, const TokenBatch & batch);
    void prepare(const TokenBatch & batch);
    void attention_forward(LayerState & s, const TokenBatch & batch);
    void attention_backward(const LayerState & s, const TokenBatch & batch);
    void rope(float * qkv, bool inverse) const;

    FlatDecoderShape shape_;
    FlatDecoderLayout layout_;
    float rms_eps_;
    double rope_base_;
    std::vector<float> cos_, sin_;  // [position, head_dim / 2], grown on demand
    std::vector<int> positions_;
    std::vector<int64_t> prob_offsets_;  // per sentence, into LayerState::probs
    std::vector<LayerState> states_;
    std::vector<float> x_out_, r_out_, h_out_, logits_;
    std::vector<float> dx_, dh_, dqkv_, datt_, dgu_, dact_, dp_;
};

}  // namespace compeval
