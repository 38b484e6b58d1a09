#include "tasks/multiple_choice.hpp"

#include "util/error.hpp"

namespace compeval {

std::vector<LoglikelihoodRequest> mc_requests(const McItem & item) {
    std::vector<LoglikelihoodRequest> out;
    out.reserve(item.choices.size());
    for (const auto & choice : item.choices) {
        out.push_back({item.context, choice, false});
    }
    return out;
}

McItemScore rank_choices(std::vector<LoglikelihoodResult> choices) {
    McItemScore score;
    score.choices = std::move(choices);
    for (size_t c = 1; c < score.choices.size(); ++c) {
        const auto & r = score.choices[c];
        if (r.logprob > score.choices[static_cast<size_t>(score.pred)].logprob) {
            score.pred = static_cast<int>(c);
        }
        const auto & best = score.choices[static_cast<size_t>(score.pred_norm)];
        if (r.logprob / r.n_tokens > best.logprob / best.n_tokens) {
            score.pred_norm = static_cast<int>(c);
        }
    }
    return score;
}

std::vector<McItemScore> score_mc_items(
    LoglikelihoodEngine & engine, const std::vector<McItem> & items, const std::string & items_path, size_t chunk_items,
    const std::function<void(size_t, const std::vector<McItemScore> &)> & on_chunk) {
    const Model & model = engine.model();
    const int n_ctx_train = model.facts().n_ctx_train;
    std::vector<McItemScore> all;
    all.reserve(items.size());
    for (size_t first = 0; first < items.size(); first += chunk_items) {
        const size_t last = std::min(items.size(), first + chunk_items);
        std::vector<LoglikelihoodRequest> texts;
        std::vector<size_t> item_of;
        for (size_t i = first; i < last; ++i) {
            for (auto & request : mc_requests(items[i])) {
                texts.push_back(std::move(request));
                item_of.push_back(i);
            }
        }
        const auto where = [&](size_t r) { return items_path + ":" + std::to_string(items[item_of[r]].line) + ": "; };
        const std::vector<TokenizedRequest> requests = tokenize_requests(model, texts, engine.options().threads, where);
        for (size_t r = 0; r < requests.size(); ++r) {
            if (n_ctx_train > 0 && requests[r].tokens.size() > static_cast<size_t>(n_ctx_train)) {
                throw Error(where(r) + "context and choice are " + std::to_string(requests[r].tokens.size()) +
                            " tokens, longer than the model's context window of " + std::to_string(n_ctx_train));
            }
        }
        const auto results = engine.loglikelihood_tokens(requests);
        std::vector<McItemScore> chunk;
        size_t r = 0;
        for (size_t i = first; i < last; ++i) {
            const size_t n = items[i].choices.size();
            chunk.push_back(rank_choices({results.begin() + static_cast<std::ptrdiff_t>(r),
                                          results.begin() + static_cast<std::ptrdiff_t>(r + n)}));
            for (size_t c = r; c < r + n; ++c) {
                chunk.back().boundaries.push_back(requests[c].boundary);
            }
            r += n;
        }
        if (on_chunk) {
            on_chunk(first, chunk);
        }
        all.insert(all.end(), chunk.begin(), chunk.end());
    }
    return all;
}

McSummary summarize(const std::vector<McItem> & items, const std::vector<McItemScore> & scores) {
    McSummary s;
    for (size_t i = 0; i < scores.size() && i < items.size(); ++i) {
        ++s.n_items;
        s.n_correct += scores[i].pred == items[i].gold ? 1 : 0;
        s.n_correct_norm += scores[i].pred_norm == items[i].gold ? 1 : 0;
    }
    return s;
}

}  // namespace compeval
