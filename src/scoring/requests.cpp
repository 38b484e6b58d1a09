#include "scoring/requests.hpp"

#include "util/error.hpp"

#include <cctype>

namespace compeval {

TokenizedRequest tokenize_request(const LanguageModel & model, const LoglikelihoodRequest & request) {
    std::string context = request.context;
    std::string continuation = request.continuation;
    size_t keep = context.size();
    while (keep > 0 && std::isspace(static_cast<unsigned char>(context[keep - 1])) != 0) {
        --keep;
    }
    continuation = context.substr(keep) + continuation;
    context.resize(keep);

    TokenizedRequest out;
    if (context.empty()) {
        const Token start = model.bos() >= 0 ? model.bos() : model.eos();
        out.tokens.push_back(start);
        out.n_context = 1;
        const auto rest = model.tokenize(continuation, false, request.parse_special);
        out.tokens.insert(out.tokens.end(), rest.begin(), rest.end());
    } else {
        out.tokens = model.tokenize(context + continuation, true, request.parse_special);
        out.n_context = model.tokenize(context, true, request.parse_special).size();
        if (out.n_context == 0) {
            // A model that adds no BOS, and a context that yields no tokens:
            // still give the continuation's first token something to condition on.
            out.tokens.insert(out.tokens.begin(), model.bos() >= 0 ? model.bos() : model.eos());
            out.n_context = 1;
        }
    }
    if (out.tokens.size() <= out.n_context) {
        throw Error("continuation \"" + request.continuation + "\" tokenizes to zero tokens");
    }
    return out;
}

}  // namespace compeval
