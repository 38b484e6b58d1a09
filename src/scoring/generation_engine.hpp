#pragma once
// Greedy generation on an in-process llama.cpp model. Requests run one after
// another on one sequence; the tokens a request shares with the previous one
// (a task's instruction and few-shot preamble) stay in the KV cache and are
// not evaluated again, as scoring shares prefixes. Trailing spaces of a
// prompt are dropped: the model writes the answer's leading space itself.
#include "backends/model.hpp"
#include "scoring/answer_generator.hpp"
#include "scoring/loglikelihood_engine.hpp"

#include <memory>

namespace compeval {

class EngineContext;

class GenerationEngine final : public AnswerGenerator {
  public:
    // Uses threads, batch, the KV cache type, flash attention and cancel of `options`.
    GenerationEngine(const Model & model, EngineOptions options);
    ~GenerationEngine() override;
    GenerationEngine(const GenerationEngine &) = delete;
    GenerationEngine & operator=(const GenerationEngine &) = delete;
    GenerationEngine(GenerationEngine &&) = delete;
    GenerationEngine & operator=(GenerationEngine &&) = delete;

    const LanguageModel & language_model() const override { return model_; }
    std::vector<GenerationResult> generate(const std::vector<GenerationRequest> & requests) override;
    uint64_t tokens_decoded() const override { return tokens_decoded_; }
    std::string endpoint(bool /*chat*/) const override { return "in_process"; }

  private:
    GenerationResult generate_one(const GenerationRequest & request);
    void ensure_context(int n_ctx);
    void decode(const std::vector<Token> & tokens, size_t from);

    const Model & model_;
    EngineOptions options_;
    std::unique_ptr<EngineContext> ctx_;
    int logits_row_ = 0;         // the batch index of the last decode's output
    std::vector<Token> cached_;  // the tokens in the KV cache, in order
    uint64_t tokens_decoded_ = 0;
};

}  // namespace compeval
