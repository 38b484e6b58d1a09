#include "scoring/loglikelihood_engine.hpp"

#include "backends/llama_runtime.hpp"
#include "scoring/engine_context.hpp"
#include "scoring/prefix_tree.hpp"
#include "scoring/token_distribution.hpp"
#include "scoring/tree_schedule.hpp"
#include "util/error.hpp"
#include "util/parallel.hpp"

#include <llama.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

namespace compeval {
namespace {

// Per-node scoring state of one call.
struct NodeScores {
    std::vector<double> logprob;  // log p(token | prefix), for nodes that need it
    std::vector<uint8_t> greedy;  // token was the argmax of its prediction
    std::vector<uint8_t> need_logprob;
    std::vector<uint8_t> need_output;  // logits of this position are needed
};

class BatchRunner {
  public:
    BatchRunner(EngineContext & ctx, const PrefixTree & tree, NodeScores & scores, int n_batch, int n_seq_max,
                int n_threads, EngineStats & stats)
        : ctx_(ctx),
          tree_(tree),
          scores_(scores),
          n_batch_(n_batch),
          n_threads_(n_threads),
          stats_(stats),
          batch_(llama_batch_init(n_batch + 1, 0, n_seq_max)),  // + 1: EngineContext's pad token
          n_vocab_(llama_vocab_n_tokens(llama_model_get_vocab(llama_get_model(ctx.get())))) {}
    ~BatchRunner() { llama_batch_free(batch_); }
    BatchRunner(const BatchRunner &) = delete;
    BatchRunner & operator=(const BatchRunner &) = delete;
    BatchRunner(BatchRunner &&) = delete;
    BatchRunner & operator=(BatchRunner &&) = delete;

    void add(int32_t node, const std::vector<llama_seq_id> & seqs) {
        const int i = batch_.n_tokens;
        batch_.token[i] = tree_.token[node];
        batch_.pos[i] = tree_.depth[node];
        batch_.n_seq_id[i] = static_cast<int32_t>(seqs.size());
        std::copy(seqs.begin(), seqs.end(), batch_.seq_id[i]);
        batch_.logits[i] = scores_.need_output[node];
        nodes_.push_back(node);
        ++batch_.n_tokens;
        if (batch_.n_tokens == n_batch_) {
            flush();
        }
    }

    void flush() {
        if (batch_.n_tokens == 0) {
            return;
        }
        const auto start = std::chrono::steady_clock::now();
        const int32_t rc = ctx_.decode(batch_);
        if (rc == 2) {
            throw Error("interrupted");
        }
        if (rc != 0) {
            const std::string cause = last_llama_error();
            throw Error("llama_decode failed with code " + std::to_string(rc) + (cause.empty() ? "" : ": " + cause));
        }
        stats_.decode_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        stats_.decode_calls += 1;
        stats_.tokens_decoded += static_cast<uint64_t>(batch_.n_tokens);
        stats_.pad_tokens += ctx_.last_padded() ? 1 : 0;
        score_outputs();
        batch_.n_tokens = 0;
        nodes_.clear();
    }

  private:
    // Normalising each output row over the vocabulary costs about as much as
    // a small model's forward pass per token, so rows are split across threads.
    void score_outputs() {
        rows_.clear();
        for (int i = 0; i < batch_.n_tokens; ++i) {
            if (batch_.logits[i] != 0) {
                rows_.push_back(i);
            }
        }
        stats_.logit_rows += rows_.size();
        summaries_.resize(rows_.size());
        const int n_workers = std::min(n_threads_, static_cast<int>(rows_.size() / 8) + 1);
        parallel_for(rows_.size(), n_workers, [this](size_t r) {
            summaries_[r] = summarize_logits(llama_get_logits_ith(ctx_.get(), rows_[r]), static_cast<size_t>(n_vocab_));
        });
        for (size_t r = 0; r < rows_.size(); ++r) {
            score_children(nodes_[static_cast<size_t>(rows_[r])], llama_get_logits_ith(ctx_.get(), rows_[r]),
                           summaries_[r]);
        }
    }

    void score_children(int32_t node, const float * logits, const RowSummary & row) {
        for (int32_t child = tree_.first_child[node]; child >= 0; child = tree_.next_sibling[child]) {
            if (scores_.need_logprob[child] != 0) {
                const Token t = tree_.token[child];
                scores_.logprob[child] = static_cast<double>(logits[t]) - row.log_normalizer;
                scores_.greedy[child] = row.argmax == t ? 1 : 0;
            }
        }
    }

    EngineContext & ctx_;
    const PrefixTree & tree_;
    NodeScores & scores_;
    int n_batch_;
    int n_threads_;
    EngineStats & stats_;
    llama_batch batch_;
    int n_vocab_;
    std::vector<int32_t> nodes_;
    std::vector<int> rows_;
    std::vector<RowSummary> summaries_;
};

}  // namespace

LoglikelihoodEngine::LoglikelihoodEngine(const Model & model, EngineOptions options)
    : model_(model), options_(std::move(options)) {
    if (options_.batch < 1) {
        throw Error("batch size must be at least 1");
    }
    // llama.cpp allows 256 sequences; EngineContext may need one for a pad token.
    options_.max_sequences = std::clamp(options_.max_sequences, 2, 255);
    if (options_.window_tokens <= 0) {
        options_.window_tokens = options_.batch;
    }
    options_.threads = resolve_threads(options_.threads);
}

LoglikelihoodEngine::~LoglikelihoodEngine() = default;

void LoglikelihoodEngine::ensure_context(int n_ctx) {
    if (ctx_ != nullptr && ctx_->cells() >= n_ctx) {
        return;
    }
    ctx_.reset();
    ctx_ = std::make_unique<EngineContext>(model_, options_, n_ctx, options_.max_sequences);
}

std::vector<LoglikelihoodResult> LoglikelihoodEngine::loglikelihood(
    const std::vector<LoglikelihoodRequest> & requests) {
    std::vector<TokenizedRequest> tokenized;
    tokenized.reserve(requests.size());
    for (const auto & request : requests) {
        tokenized.push_back(tokenize_request(model_, request));
    }
    return loglikelihood_tokens(tokenized);
}

std::vector<LoglikelihoodResult> LoglikelihoodEngine::loglikelihood_tokens(
    const std::vector<TokenizedRequest> & requests) {
    std::vector<LoglikelihoodResult> results(requests.size());
    if (requests.empty()) {
        return results;
    }
    const int n_ctx_train = model_.facts().n_ctx_train;
    size_t max_len = 0;
    std::vector<const std::vector<Token> *> sequences;
    sequences.reserve(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
        const auto & r = requests[i];
        if (r.tokens.size() <= r.n_context || r.n_context == 0) {
            throw Error("request " + std::to_string(i) + " has no context or no continuation tokens");
        }
        if (n_ctx_train > 0 && r.tokens.size() > static_cast<size_t>(n_ctx_train)) {
            throw Error("request " + std::to_string(i) + " is " + std::to_string(r.tokens.size()) +
                        " tokens, longer than the model's context window of " + std::to_string(n_ctx_train));
        }
        max_len = std::max(max_len, r.tokens.size());
        sequences.push_back(&r.tokens);
        stats_.tokens_requested += r.tokens.size();
    }

    const PrefixTree tree = PrefixTree::build(sequences);
    NodeScores scores;
    scores.logprob.assign(tree.size(), 0.0);
    scores.greedy.assign(tree.size(), 0);
    scores.need_logprob.assign(tree.size(), 0);
    scores.need_output.assign(tree.size(), 0);
    for (size_t i = 0; i < requests.size(); ++i) {
        for (int32_t n = tree.end_node[i]; n >= 0 && tree.depth[n] >= static_cast<int32_t>(requests[i].n_context);
             n = tree.parent[n]) {
            scores.need_logprob[n] = 1;
            scores.need_output[tree.parent[n]] = 1;
        }
    }

    // The KV cache holds the anchor (the prefix the next window shares with
    // the previous one, at most one sequence long) plus one window of new tokens.
    const int window = std::max(options_.window_tokens, static_cast<int>(max_len));
    ensure_context(static_cast<int>(max_len) + window);
    BatchRunner runner(*ctx_, tree, scores, options_.batch, options_.max_sequences, options_.threads, stats_);
    // Scoring reads a leaf's log-probability from its parent's logits.
    const TreeScheduleOptions schedule{ctx_->cells(), window, options_.max_sequences, false};
    schedule_tree(
        tree, ctx_->memory(), schedule,
        [&](int32_t node, const std::vector<llama_seq_id> & seqs) { runner.add(node, seqs); },
        [&](size_t leaves_done) {
            runner.flush();
            if (options_.progress) {
                options_.progress(leaves_done, tree.leaves.size());
            }
        });

    for (size_t i = 0; i < requests.size(); ++i) {
        auto & out = results[i];
        out.greedy = true;
        for (int32_t n = tree.end_node[i]; n >= 0 && tree.depth[n] >= static_cast<int32_t>(requests[i].n_context);
             n = tree.parent[n]) {
            out.logprob += scores.logprob[n];
            out.greedy = out.greedy && scores.greedy[n] != 0;
            ++out.n_tokens;
        }
    }
    return results;
}

}  // namespace compeval
