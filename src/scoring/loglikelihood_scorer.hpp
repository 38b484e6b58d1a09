#pragma once
// Anything that scores tokenized requests: the in-process engine
// (LoglikelihoodEngine) or a remote server (RemoteScorer). Tasks and suites
// are written against this, so both give the same kind of results.
#include "backends/language_model.hpp"
#include "scoring/requests.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace compeval {

class LoglikelihoodScorer {
  public:
    LoglikelihoodScorer() = default;
    virtual ~LoglikelihoodScorer() = default;
    LoglikelihoodScorer(const LoglikelihoodScorer &) = delete;
    LoglikelihoodScorer & operator=(const LoglikelihoodScorer &) = delete;
    LoglikelihoodScorer(LoglikelihoodScorer &&) = delete;
    LoglikelihoodScorer & operator=(LoglikelihoodScorer &&) = delete;

    virtual const LanguageModel & language_model() const = 0;
    // One result per request, in order; throws compeval::Error.
    virtual std::vector<LoglikelihoodResult> loglikelihood_tokens(const std::vector<TokenizedRequest> & requests) = 0;
    // Tokens evaluated so far (what the cost section calls tokens/s).
    virtual uint64_t tokens_decoded() const = 0;
    // How log-likelihoods are obtained, recorded with every result:
    // "loglikelihood" (in-process), "forced_tokens" or "echo" (a server).
    virtual std::string route() const { return "loglikelihood"; }
};

}  // namespace compeval
