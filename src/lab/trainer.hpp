#pragma once
// Training the lab's models: a llama-style decoder (RMSNorm, rotary
// positions, SwiGLU) trained from scratch on the toy language by a
// hand-written forward and backward over one flat array of weights
// (FlatDecoder) and one AdamW pass over it (FlatAdamW), on OpenBLAS, and
// exported to a GGUF that llama.cpp loads through the normal path.
#include "lab/word_vocab.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace compeval {

// Changes whenever the same configuration would give other bytes: part of
// every zoo model's cache key, so a zoo trained by an earlier trainer is
// trained again rather than reused.
inline constexpr const char * kTrainerVersion = "flat-2";

struct LabModelShape {
    int n_embd = 64;
    int n_layer = 2;
    int n_head = 4;
    int n_ff = 172;
    int n_ctx = 64;  // longest sequence (BOS + sentence + EOS)
};

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

class LabModel {
  public:
    // Initial weights from `seed` alone (the same bytes on every CPU).
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

    // Every weight in one array, and where each GGUF tensor lies in it
    // (row-major [rows, cols]): what the tests and the reference generator
    // (tools/lab-reference) read and set.
    struct WeightTensor {
        std::string name;  // "blk.0.attn_q.weight"
        int64_t offset = 0;
        int64_t rows = 0;
        int64_t cols = 0;
        int64_t size() const { return rows * cols; }
    };
    std::vector<WeightTensor> weight_tensors() const;
    std::vector<float> & weights();
    const std::vector<float> & weights() const;
    // Mean cross-entropy over the sentences' tokens (BOS/EOS added) and its
    // gradient with respect to weights(), by FlatDecoder.
    double loss_and_gradient(const std::vector<std::vector<int>> & sentences, std::vector<float> & gradient);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A warning when the BLAS library this process runs on is not OpenBLAS
// (Debian's reference BLAS trains ~15x slower), else "".
std::string lab_blas_warning();

}  // namespace compeval
