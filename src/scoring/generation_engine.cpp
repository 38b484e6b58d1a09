#include "scoring/generation_engine.hpp"

#include "backends/llama_runtime.hpp"
#include "scoring/engine_context.hpp"
#include "scoring/token_distribution.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <llama.h>

#include <algorithm>
#include <numeric>

namespace compeval {
namespace {

// The k most likely tokens of one row of logits, most likely first (ties: lower id first).
std::vector<TokenLogprob> top_tokens(const Model & model, const float * logits, size_t n_vocab, int k) {
    const RowSummary row = summarize_logits(logits, n_vocab);
    std::vector<int32_t> ids(n_vocab);
    std::iota(ids.begin(), ids.end(), 0);
    const auto n = std::min<size_t>(static_cast<size_t>(k), n_vocab);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    std::vector<TokenLogprob> out;
    for (size_t i = 0; i < n; ++i) {
        out.push_back({replace_invalid_utf8(model.detokenize({ids[i]})),
                       static_cast<double>(logits[ids[i]]) - row.log_normalizer});
    }
    return out;
}

}  // namespace

GenerationEngine::GenerationEngine(const Model & model, EngineOptions options)
    : model_(model), options_(std::move(options)) {
    ensure_llama_backend();
    options_.threads = resolve_threads(options_.threads);
}

GenerationEngine::~GenerationEngine() = default;

void GenerationEngine::ensure_context(int n_ctx) {
    if (ctx_ != nullptr && ctx_->cells() >= n_ctx) {
        return;
    }
    ctx_.reset();
    cached_.clear();
    ctx_ = std::make_unique<EngineContext>(model_, options_, std::max(n_ctx, 256), 1);
}

// Evaluates tokens[from..] after the cached ones; logits of the last only.
void GenerationEngine::decode(const std::vector<Token> & tokens, size_t from) {
    const auto n_batch = static_cast<size_t>(options_.batch);
    llama_batch batch = llama_batch_init(static_cast<int32_t>(n_batch) + 1, 0, 1);  // + 1: a pad token
    for (size_t first = from; first < tokens.size(); first += n_batch) {
        const size_t last = std::min(tokens.size(), first + n_batch);
        batch.n_tokens = 0;
        for (size_t i = first; i < last; ++i) {
            const int k = batch.n_tokens++;
            batch.token[k] = tokens[i];
            batch.pos[k] = static_cast<llama_pos>(i);
            batch.n_seq_id[k] = 1;
            batch.seq_id[k][0] = 0;
            batch.logits[k] = i + 1 == tokens.size() ? 1 : 0;
        }
        logits_row_ = batch.n_tokens - 1;
        const int32_t rc = ctx_->decode(batch);
        if (rc != 0) {
            llama_batch_free(batch);
            cached_.clear();
            llama_memory_clear(ctx_->memory(), true);
            if (rc == 2) {
                throw Error("interrupted");
            }
            const std::string cause = last_llama_error();
            throw Error("llama_decode failed with code " + std::to_string(rc) + (cause.empty() ? "" : ": " + cause));
        }
        tokens_decoded_ += last - first;
    }
    llama_batch_free(batch);
    cached_.assign(tokens.begin(), tokens.end());
}

GenerationResult GenerationEngine::generate_one(const GenerationRequest & request) {
    // The answer's leading space is the model's to write (as the scoring
    // route's joint split moves it into the continuation): a prompt ending in
    // spaces would otherwise end on a lone space token the model rarely saw.
    std::string prompt = request.prompt;
    while (!prompt.empty() && prompt.back() == ' ') {
        prompt.pop_back();
    }
    std::vector<Token> tokens = model_.tokenize(prompt, true, request.parse_special);
    if (tokens.empty()) {
        tokens.push_back(model_.bos() >= 0 ? model_.bos() : model_.eos());
    }
    const int needed = static_cast<int>(tokens.size()) + request.max_tokens + 1;
    if (model_.facts().n_ctx_train > 0 && needed > model_.facts().n_ctx_train) {
        throw Error("a prompt of " + std::to_string(tokens.size()) + " tokens plus " +
                    std::to_string(request.max_tokens) + " to generate exceeds the model's training window of " +
                    std::to_string(model_.facts().n_ctx_train));
    }
    ensure_context(needed);
    // Keep the prefix shared with what is cached; the last prompt token is
    // always evaluated again, for its logits.
    size_t keep = 0;
    while (keep < cached_.size() && keep + 1 < tokens.size() && cached_[keep] == tokens[keep]) {
        ++keep;
    }
    llama_memory_t memory = ctx_->memory();
    if (!llama_memory_seq_rm(memory, 0, static_cast<llama_pos>(keep), -1)) {
        llama_memory_clear(memory, true);  // a cache that cannot cut a suffix (e.g. sliding window) starts over
        keep = 0;
    }
    cached_.resize(keep);
    decode(tokens, keep);

    const llama_vocab * vocab = llama_model_get_vocab(model_.raw());
    const auto n_vocab = static_cast<size_t>(llama_vocab_n_tokens(vocab));
    GenerationResult result;
    result.finish = "length";
    std::vector<Token> generated;
    while (static_cast<int>(generated.size()) < request.max_tokens) {
        const float * logits = llama_get_logits_ith(ctx_->get(), logits_row_);
        if (generated.empty() && request.top_logprobs > 0) {
            result.first_top = top_tokens(model_, logits, n_vocab, request.top_logprobs);
        }
        const Token next = summarize_logits(logits, n_vocab).argmax;
        if (llama_vocab_is_eog(vocab, next)) {
            result.finish = "stop";
            break;
        }
        generated.push_back(next);
        result.text = model_.detokenize(generated);
        if (cut_at_stop(result.text, request.stop)) {
            result.finish = "stop";
            break;
        }
        if (static_cast<int>(generated.size()) == request.max_tokens) {
            break;
        }
        tokens.push_back(next);
        decode(tokens, tokens.size() - 1);
    }
    if (request.max_tokens == 0 && request.top_logprobs > 0) {
        result.first_top =
            top_tokens(model_, llama_get_logits_ith(ctx_->get(), logits_row_), n_vocab, request.top_logprobs);
    }
    result.n_tokens = static_cast<int>(generated.size());
    result.text = replace_invalid_utf8(result.text);
    return result;
}

std::vector<GenerationResult> GenerationEngine::generate(const std::vector<GenerationRequest> & requests) {
    std::vector<GenerationResult> out;
    out.reserve(requests.size());
    for (const auto & r : requests) {
        if (options_.cancel != nullptr && options_.cancel->load()) {
            throw Error("interrupted");
        }
        out.push_back(generate_one(r));
    }
    return out;
}

}  // namespace compeval
