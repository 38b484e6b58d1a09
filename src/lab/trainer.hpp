#pragma once
// Training the lab's models: a llama-style decoder (RMSNorm, rotary
// positions, SwiGLU) trained from scratch on the toy language with libtorch,
// and exported to a GGUF that llama.cpp loads through the normal path. Torch
// stays behind this interface (one translation unit includes it); compeval
// builds without it, and then these functions throw.
#include "lab/word_vocab.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace compeval {

struct LabModelShape {
    int n_embd = 64;
    int n_layer = 2;
    int n_head = 4;
    int n_ff = 172;
    int n_ctx = 64;  // longest sequence (BOS + sentence + EOS)
};

// How a step is run. `fused` (the default): the hand-written forward and
// backward (FlatDecoder) over one flat buffer of every weight, one AdamW pass
// over it with the gradient-norm clip folded in (FlatAdamW). `reference`:
// libtorch autograd, torch::optim::AdamW and clip_grad_norm_ over each
// parameter tensor, as the lab trained before; kept for bench/lab-train's
// same-run comparison. Both compute the same update up to float summation
// order (tested against each other).
enum class TrainLoop { fused, reference };

inline const char * train_loop_name(TrainLoop loop) {
    return loop == TrainLoop::fused ? "fused" : "reference";
}

inline TrainLoop parse_train_loop(const std::string & name) {
    if (name == "fused") {
        return TrainLoop::fused;
    }
    if (name == "reference") {
        return TrainLoop::reference;
    }
    throw Error("unknown training loop '" + name + "' (fused, reference)");
}

struct TrainConfig {
    int epochs = 4;
    int batch = 64;  // sentences per step
    double learning_rate = 3e-3;
    double warmup_share = 0.1;  // of all steps; then cosine decay to 10%
    double weight_decay = 0.01;
    double clip = 1.0;  // gradient norm
    uint64_t seed = 1;
    // Threads for one model's kernels (0: all cores). One is the fastest at
    // the lab's sizes (the per-step hand-offs cost more than they save) and
    // sums in a fixed order: same config and seed give the same bytes. A zoo
    // trains several models side by side instead.
    int threads = 1;
    TrainLoop loop = TrainLoop::fused;
};

struct EpochLog {
    int epoch = 0;
    double train_loss = 0;       // mean over the epoch's predicted tokens (nats)
    double validation_loss = 0;  // likewise, after the epoch
    double seconds = 0;
};

struct TrainResult {
    std::vector<EpochLog> epochs;
    double unigram_loss = 0;  // validation loss of the training unigram distribution (the baseline)
    uint64_t n_params = 0;
    double tokens_per_second = 0;
};

// True when this build has libtorch.
bool lab_training_available();

class LabModel {
  public:
    LabModel(const LabModelShape & shape, int n_vocab, uint64_t seed);
    ~LabModel();
    LabModel(const LabModel &) = delete;
    LabModel & operator=(const LabModel &) = delete;
    LabModel(LabModel && other) noexcept;
    LabModel & operator=(LabModel && other) noexcept;

    // Sentences as word ids (no BOS/EOS: they are added). Deterministic for a
    // given config, data and thread count; models may train in parallel threads.
    TrainResult train(const std::vector<std::vector<int>> & train, const std::vector<std::vector<int>> & validation,
                      const TrainConfig & config);

    // log p(token i | BOS, tokens before i) for every token of `ids` and the
    // closing EOS, in double precision from the model's float logits.
    std::vector<double> token_logprobs(const std::vector<int> & ids) const;

    // Writes an F32 llama GGUF with `vocab_gguf`'s tokenizer (WordVocab::write_gguf)
    // and, for an instruct variant, a chat template.
    void export_gguf(const std::string & vocab_gguf, const std::string & path, const std::string & name,
                     const std::vector<std::pair<std::string, std::string>> & metadata,
                     const std::string & chat_template = "") const;

    // An independent copy (same weights): the base of an instruct variant.
    LabModel clone() const;

    uint64_t n_params() const;

    // The fused loop's hand-written gradient (FlatDecoder) against libtorch
    // autograd's on the same weights and sentences: how far apart the mean
    // losses and the gradients are. What the tests hold the fused loop to.
    struct GradientAgreement {
        double loss_difference = 0;      // |fused - autograd|, mean loss in nats
        double max_grad_difference = 0;  // largest |fused - autograd| of any element
        double max_grad = 0;             // largest |autograd| element, for scale
    };
    GradientAgreement compare_gradients(const std::vector<std::vector<int>> & sentences);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Sets OMP_WAIT_POLICY=PASSIVE and re-executes the program when it was not set
// at start (libtorch's spinning OpenMP threads starve OpenBLAS on few cores;
// the variable is read only at process start). Returns a warning when the BLAS
// in use is not OpenBLAS (Debian's reference BLAS is ~15x slower), else "".
std::string prepare_lab_process(char ** argv);

}  // namespace compeval
