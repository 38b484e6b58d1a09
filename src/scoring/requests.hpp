#pragma once
// The unit of work of the scoring engine: how likely is `continuation` after
// `context`?
#include "backends/language_model.hpp"

#include <cstddef>
#include <functional>
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

// Which rule split a request's tokens into context and continuation.
enum class TokenBoundary {
    Joint,     // context + continuation tokenized together, split after the context's tokens
    Separate,  // the context's own tokens, then the continuation tokenized on its own
};
const char * boundary_name(TokenBoundary boundary);  // "joint", "separate"

// A request after tokenization: the model evaluates `tokens`; the first
// `n_context` of them are context, the rest the scored continuation.
struct TokenizedRequest {
    std::vector<Token> tokens;
    size_t n_context = 0;
    TokenBoundary boundary = TokenBoundary::Joint;
};

struct LoglikelihoodResult {
    double logprob = 0.0;  // summed log-probability of the continuation tokens (nats)
    int n_tokens = 0;      // continuation tokens
    bool greedy = false;   // every continuation token was the argmax
};

// The lm-evaluation-harness convention where it is clean: trailing whitespace
// of the context moves to the continuation, the whole string is tokenized once,
// and the first len(tokenize(context)) tokens count as context. It is clean when
// the context's tokens are a prefix of the joint tokens and the rest are the
// continuation (they decode to it, or equal its tokens on its own). Where a
// token merges across the boundary (a byte-level BPE joins "assistant:" and
// "no" into ":no"), the continuation is tokenized on its own after the
// context's unchanged tokens (TokenBoundary::Separate), so no item ever loses
// its continuation. An empty context is replaced by the BOS (or EOS) token so
// the first continuation token has a prediction. Throws compeval::Error only
// when the continuation text is empty or its text yields no token at all.
TokenizedRequest tokenize_request(const LanguageModel & model, const LoglikelihoodRequest & request);

// tokenize_request for many requests: each distinct context is tokenized once
// and the work is spread over `threads` threads (a tokenizer is read-only; a
// remote model serialises its own calls). The same tokens as one call per
// request. An error names where(index) of the first failing request.
std::vector<TokenizedRequest> tokenize_requests(const LanguageModel & model,
                                                const std::vector<LoglikelihoodRequest> & requests, int threads,
                                                const std::function<std::string(size_t)> & where = {});

}  // namespace compeval
