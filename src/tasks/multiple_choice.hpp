#pragma once
// Multiple-choice scoring: each choice is a continuation of the item's
// context; the prediction is the choice with the highest summed
// log-likelihood (acc) or the highest mean log-likelihood per token
// (acc_norm_tok, llama-perplexity's ranking).
#include "data/mc_items.hpp"
#include "scoring/loglikelihood_engine.hpp"

#include <functional>
#include <vector>

namespace compeval {

struct McItemScore {
    std::vector<LoglikelihoodResult> choices;
    std::vector<TokenBoundary> boundaries;  // per choice: the token-boundary rule it needed
    int pred = 0;                           // argmax of summed log-likelihood (first on ties)
    int pred_norm = 0;                      // argmax of mean log-likelihood per token
};

struct McSummary {
    size_t n_items = 0;
    size_t n_correct = 0;
    size_t n_correct_norm = 0;
    double acc() const { return n_items == 0 ? 0.0 : static_cast<double>(n_correct) / static_cast<double>(n_items); }
    double acc_norm_tok() const {
        return n_items == 0 ? 0.0 : static_cast<double>(n_correct_norm) / static_cast<double>(n_items);
    }
};

// The requests of one item, one per choice.
std::vector<LoglikelihoodRequest> mc_requests(const McItem & item);

McItemScore rank_choices(std::vector<LoglikelihoodResult> choices);

// Scores items in chunks of `chunk_items` (prefixes are shared within a
// chunk); `on_chunk(first, scores)` receives each finished chunk so callers can
// persist results before the next chunk starts (no finished work is lost on
// interruption). Token-boundary errors name the item's file line.
std::vector<McItemScore> score_mc_items(
    LoglikelihoodEngine & engine, const std::vector<McItem> & items, const std::string & items_path,
    size_t chunk_items = 1024,
    const std::function<void(size_t, const std::vector<McItemScore> &)> & on_chunk = nullptr);

McSummary summarize(const std::vector<McItem> & items, const std::vector<McItemScore> & scores);

}  // namespace compeval
