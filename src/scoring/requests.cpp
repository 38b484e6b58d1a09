#include "scoring/requests.hpp"

#include "util/error.hpp"
#include "util/parallel.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

namespace compeval {

const char * boundary_name(TokenBoundary boundary) {
    return boundary == TokenBoundary::Joint ? "joint" : "separate";
}

namespace {

// The context with its trailing whitespace moved to the continuation.
struct SplitText {
    std::string context;
    std::string continuation;
};

SplitText split_text(const LoglikelihoodRequest & request) {
    if (request.continuation.empty()) {
        throw Error("the continuation is empty: there is nothing to score");
    }
    size_t keep = request.context.size();
    while (keep > 0 && std::isspace(static_cast<unsigned char>(request.context[keep - 1])) != 0) {
        --keep;
    }
    return {request.context.substr(0, keep), request.context.substr(keep) + request.continuation};
}

// `context_tokens` are model.tokenize(text.context, true, parse_special).
TokenizedRequest join_tokens(const LanguageModel & model, const LoglikelihoodRequest & request, const SplitText & text,
                             std::vector<Token> context_tokens) {
    const bool parse_special = request.parse_special;
    const std::string & context = text.context;
    const std::string & continuation = text.continuation;
    const Token start = model.bos() >= 0 ? model.bos() : model.eos();

    TokenizedRequest out;
    const auto on_its_own = [&] { return model.tokenize(continuation, false, parse_special); };
    if (context.empty()) {
        // Nothing to merge with: the start token, then the continuation.
        out.tokens = on_its_own();
        out.tokens.insert(out.tokens.begin(), start);
        out.n_context = 1;
    } else {
        std::vector<Token> joint = model.tokenize(context + continuation, true, parse_special);
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

}  // namespace

TokenizedRequest tokenize_request(const LanguageModel & model, const LoglikelihoodRequest & request) {
    const SplitText text = split_text(request);
    std::vector<Token> context_tokens;
    if (!text.context.empty()) {
        context_tokens = model.tokenize(text.context, true, request.parse_special);
    }
    return join_tokens(model, request, text, std::move(context_tokens));
}

std::vector<TokenizedRequest> tokenize_requests(const LanguageModel & model,
                                                const std::vector<LoglikelihoodRequest> & requests, int threads,
                                                const std::function<std::string(size_t)> & where) {
    std::vector<SplitText> texts(requests.size());
    // Each distinct (context, parse_special) is tokenized once: an item's
    // choices share their context, and a few-shot preamble is the bulk of it.
    std::unordered_map<std::string, size_t> context_index;
    std::vector<const SplitText *> distinct;
    std::vector<bool> distinct_special;
    std::vector<size_t> context_of(requests.size(), 0);
    for (size_t i = 0; i < requests.size(); ++i) {
        try {
            texts[i] = split_text(requests[i]);
        } catch (const Error & e) {
            throw Error((where ? where(i) : std::string()) + e.what());
        }
        const auto [it, added] =
            context_index.try_emplace(texts[i].context + (requests[i].parse_special ? '\1' : '\0'), distinct.size());
        if (added) {
            distinct.push_back(&texts[i]);
            distinct_special.push_back(requests[i].parse_special);
        }
        context_of[i] = it->second;
    }
    std::vector<std::vector<Token>> context_tokens(distinct.size());
    parallel_for(distinct.size(), threads, [&](size_t c) {
        if (!distinct[c]->context.empty()) {
            context_tokens[c] = model.tokenize(distinct[c]->context, true, distinct_special[c]);
        }
    });
    std::vector<TokenizedRequest> out(requests.size());
    parallel_for(requests.size(), threads, [&](size_t i) {
        try {
            out[i] = join_tokens(model, requests[i], texts[i], context_tokens[context_of[i]]);
        } catch (const Error & e) {
            throw Error((where ? where(i) : std::string()) + e.what());
        }
    });
    return out;
}

}  // namespace compeval
