#pragma once
// Answers from a server (see RemoteModel): a chat prompt goes to
// /v1/chat/completions as messages (the server applies its own template), a
// plain prompt to /v1/completions as text; greedy (temperature 0), with
// `logprobs: true, top_logprobs: k` (OpenAI's shape) for the first-token
// route. Requests run `concurrency` at a time and are retried like scoring.
#include "backends/remote_model.hpp"
#include "scoring/answer_generator.hpp"

#include <atomic>
#include <nlohmann/json.hpp>

namespace compeval {

class RemoteGenerator final : public AnswerGenerator {
  public:
    explicit RemoteGenerator(const RemoteModel & model, const std::atomic<bool> * cancel = nullptr);

    const LanguageModel & language_model() const override { return model_; }
    std::vector<GenerationResult> generate(const std::vector<GenerationRequest> & requests) override;
    uint64_t tokens_decoded() const override { return tokens_; }
    std::string endpoint(bool chat) const override { return chat ? "chat_completions" : "completions"; }

  private:
    const RemoteModel & model_;
    const std::atomic<bool> * cancel_;
    std::atomic<uint64_t> tokens_{0};
};

// One /v1/chat/completions or /v1/completions response body as a result:
// choices[0]'s text (message.content, or text), finish_reason, and the first
// position's top log-probabilities in either shape a server returns
// (logprobs.content[0].top_logprobs as a list of {token, logprob}, or the
// legacy logprobs.top_logprobs[0] as a map token -> logprob). Throws
// compeval::Error naming what is missing.
GenerationResult parse_generation_response(const nlohmann::json & body, const std::vector<std::string> & stop,
                                           int top_logprobs);

}  // namespace compeval
