#pragma once
// Scores tokenized requests on a remote server (see RemoteModel) by its
// route: forced tokens (every continuation token forced in turn after its
// exact token-id prefix and its log-probability read from the raw
// distribution, so the numbers match the in-process engine up to the server's
// float arithmetic), or echo (one request per sequence returning every prompt
// token's log-probability, each response checked as by the self-test). Requests run
// `concurrency` at a time, each worker with its own connection; every HTTP
// call is retried on 429/5xx/dropped connections, and scoring is a pure
// function of the tokens, so a retried call cannot change or duplicate a result.
#include "backends/remote_model.hpp"
#include "scoring/loglikelihood_scorer.hpp"

#include <atomic>

namespace compeval {

class RemoteScorer : public LoglikelihoodScorer {
  public:
    explicit RemoteScorer(const RemoteModel & model, const std::atomic<bool> * cancel = nullptr);

    const LanguageModel & language_model() const override { return model_; }
    std::vector<LoglikelihoodResult> loglikelihood_tokens(const std::vector<TokenizedRequest> & requests) override;
    uint64_t tokens_decoded() const override { return tokens_; }
    std::string route() const override { return model_.capabilities().scoring; }

  private:
    std::vector<LoglikelihoodResult> score_by_echo(const std::vector<TokenizedRequest> & requests);

    const RemoteModel & model_;
    const std::atomic<bool> * cancel_;
    uint64_t tokens_ = 0;
};

struct ForcedTokenReply {
    double logprob = 0;   // the forced token's log-probability under the raw distribution
    bool greedy = false;  // it was also the most likely token
};

// Reads llama-server's /completion answer to a forced token: the first
// completion_probabilities entry must be the forced token, with a finite
// log-probability <= 0. Anything else (a missing field, another token, a
// positive or non-finite number) throws compeval::Error naming the server:
// a lie is refused, never stored.
ForcedTokenReply parse_forced_token_reply(const nlohmann::json & reply, Token target, const std::string & server);

}  // namespace compeval
