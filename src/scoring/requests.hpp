#pragma once
// The unit of work of the scoring engine: how likely is `continuation` after
// `context`?
#include "backends/language_model.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace compeval {

struct LoglikelihoodRequest {
    std::string context;
    std::string continuation;
    // Chat prompts carry the template's control tokens as text; they must be
    // parsed as special tokens, never as literal characters.
    bool parse_special = false;
};

// A request after tokenization: the model evaluates `tokens`; the first
// `n_context` of them are context, the rest the scored continuation.
struct TokenizedRequest {
    std::vector<Token> tokens;
    size_t n_context = 0;
};

struct LoglikelihoodResult {
    double logprob = 0.0;  // summed log-probability of the continuation tokens (nats)
    int n_tokens = 0;      // continuation tokens
    bool greedy = false;   // every continuation token was the argmax
};

// Tokenizes context+continuation together and splits at the context boundary
// (the lm-evaluation-harness convention): trailing whitespace of the context
// moves to the continuation, the whole string is tokenized once, and the first
// len(tokenize(context)) tokens count as context. An empty context is replaced
// by the BOS (or EOS) token so the first continuation token has a prediction.
// Throws compeval::Error if the continuation yields zero tokens.
TokenizedRequest tokenize_request(const LanguageModel & model, const LoglikelihoodRequest & request);

}  // namespace compeval
