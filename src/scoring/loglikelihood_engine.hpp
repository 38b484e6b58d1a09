#pragma once
// Batched, prefix-sharing log-likelihood scoring on an in-process llama.cpp
// model: the engine every task is scored with.
#include "backends/model.hpp"
#include "scoring/loglikelihood_scorer.hpp"
#include "scoring/requests.hpp"
#include "util/parallel.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace compeval {

class EngineContext;

struct EngineOptions {
    int threads = 0;  // 0: all hardware threads
    // Tokens per llama_decode call. Each token attends over every live KV
    // cell, so on CPU a moderate batch is fastest: on a 100M f16 model with 2
    // cores, 256 ran 2183 tokens/s against 1701 for 512 and 1509 for 2048.
    int batch = 256;
    int max_sequences = 128;  // KV sequences alive at once (2 to 255)
    // New tokens evaluated between two synchronisation points (0: = batch).
    // Larger windows keep more KV cells alive, which makes attention slower.
    int window_tokens = 0;
    // F32 KV cache by default: an F16 cache alone drifts ~5e-3 nats on a 100M
    // model, which would make scores depend on batch layout.
    bool f32_kv_cache = true;
    // Flash attention is faster on CPU but computes attention at lower
    // precision (measured: up to 0.017 nats per choice on a 100M f16 model).
    bool flash_attention = false;
    // Set from a signal handler to stop between (or inside) decode calls.
    const std::atomic<bool> * cancel = nullptr;
    // Called after each decode with (continuation sequences finished, total).
    std::function<void(size_t, size_t)> progress;
};

struct EngineStats {
    uint64_t tokens_decoded = 0;    // tokens actually run through the model
    uint64_t tokens_requested = 0;  // sum of all request lengths (what naive scoring would run)
    uint64_t logit_rows = 0;        // decoded positions whose logits were read (output-layer rows)
    uint64_t decode_calls = 0;
    uint64_t pad_tokens = 0;  // tokens EngineContext added so that no product had one column
    double decode_seconds = 0.0;
};

class LoglikelihoodEngine : public LoglikelihoodScorer {
  public:
    LoglikelihoodEngine(const Model & model, EngineOptions options);
    ~LoglikelihoodEngine() override;
    LoglikelihoodEngine(const LoglikelihoodEngine &) = delete;
    LoglikelihoodEngine & operator=(const LoglikelihoodEngine &) = delete;
    LoglikelihoodEngine(LoglikelihoodEngine &&) = delete;
    LoglikelihoodEngine & operator=(LoglikelihoodEngine &&) = delete;

    // Scores every request (see tokenize_request for the token boundary).
    std::vector<LoglikelihoodResult> loglikelihood(const std::vector<LoglikelihoodRequest> & requests);
    // Scores pre-tokenized requests. Throws compeval::Error for a request
    // longer than the model's training window or without continuation tokens.
    std::vector<LoglikelihoodResult> loglikelihood_tokens(const std::vector<TokenizedRequest> & requests) override;

    const EngineStats & stats() const { return stats_; }
    const EngineOptions & options() const { return options_; }
    const Model & model() const { return model_; }
    const LanguageModel & language_model() const override { return model_; }
    uint64_t tokens_decoded() const override { return stats_.tokens_decoded; }

  private:
    void ensure_context(int n_ctx);

    const Model & model_;
    EngineOptions options_;
    std::unique_ptr<EngineContext> ctx_;
    EngineStats stats_;
};

}  // namespace compeval
