#include "scoring/requests.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cctype>

namespace compeval {

const char * boundary_name(TokenBoundary boundary) {
    return boundary == TokenBoundary::Joint ? "joint" : "separate";
}

TokenizedRequest tokenize_request(const LanguageModel & model, const LoglikelihoodRequest & request) {
    if (request.continuation.empty()) {
        throw Error("the continuation is empty: there is nothing to score");
    }
    std::string context = request.context;
    size_t keep = context.size();
    while (keep > 0 && std::isspace(static_cast<unsigned char>(context[keep - 1])) != 0) {
        --keep;
    }
    const std::string continuation = context.substr(keep) + request.continuation;
    context.resize(keep);
    const Token start = model.bos() >= 0 ? model.bos() : model.eos();

    TokenizedRequest out;
    const auto on_its_own = [&] { return model.tokenize(continuation, false, request.parse_special); };
    if (context.empty()) {
        // Nothing to merge with: the start token, then the continuation.
        out.tokens = on_its_own();
        out.tokens.insert(out.tokens.begin(), start);
        out.n_context = 1;
    } else {
        std::vector<Token> context_tokens = model.tokenize(context, true, request.parse_special);
        std::vector<Token> joint = model.tokenize(context + continuation, true, request.parse_special);
        if (context_tokens.empty()) {
            // A model that adds no BOS, and a context that yields no tokens:
            // still give the continuation's first token something to condition on.
            context_tokens.push_back(start);
            joint.insert(joint.begin(), start);
        }
        const size_t n = context_tokens.size();
        bool clean = joint.size() > n && std::equal(context_tokens.begin(), context_tokens.end(), joint.begin());
        if (clean) {
            const std::vector<Token> rest(joint.begin() + static_cast<std::ptrdiff_t>(n), joint.end());
            clean = model.detokenize(rest) == continuation || rest == on_its_own();
        }
        out.n_context = n;
        if (clean) {
            out.tokens = std::move(joint);
        } else {
            out.boundary = TokenBoundary::Separate;
            const auto rest = on_its_own();
            out.tokens = std::move(context_tokens);
            out.tokens.insert(out.tokens.end(), rest.begin(), rest.end());
        }
    }
    if (out.tokens.size() <= out.n_context) {
        throw Error("continuation \"" + request.continuation + "\" tokenizes to zero tokens, even on its own");
    }
    return out;
}

}  // namespace compeval
