#include "exactness_bound.hpp"

#include "test_support.hpp"

#include <llama.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

namespace compeval::test {
namespace {

struct Slot {
    size_t request = 0;
    size_t next = 0;  // the next token to decode
};

}  // namespace

std::vector<LoglikelihoodResult> llama_batched_loglikelihood(const Model & model,
                                                             const std::vector<TokenizedRequest> & requests, int batch,
                                                             int threads, int sequences) {
    size_t max_len = 0;
    for (const auto & r : requests) {
        max_len = std::max(max_len, r.tokens.size());
    }
    llama_context_params p = llama_context_default_params();
    p.n_ctx = static_cast<uint32_t>(max_len * static_cast<size_t>(sequences) + 1);
    p.n_batch = static_cast<uint32_t>(batch);
    p.n_ubatch = p.n_batch;
    p.n_seq_max = static_cast<uint32_t>(sequences);
    p.n_outputs_max = static_cast<uint32_t>(std::max(batch, sequences));
    p.kv_unified = true;
    p.n_threads = threads;
    p.n_threads_batch = threads;
    p.type_k = GGML_TYPE_F32;
    p.type_v = GGML_TYPE_F32;
    p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    const std::unique_ptr<llama_context, decltype(&llama_free)> ctx(llama_init_from_model(model.raw(), p), &llama_free);
    if (!ctx) {
        throw std::runtime_error("cannot create the batched reference context");
    }
    const int n_vocab = model.facts().n_vocab;
    std::vector<LoglikelihoodResult> out(requests.size());
    for (auto & r : out) {
        r.greedy = true;
    }
    std::vector<Slot> slots(static_cast<size_t>(sequences));
    std::vector<bool> busy(slots.size(), false);
    size_t next_request = 0;
    llama_batch b = llama_batch_init(batch, 0, 1);
    std::vector<std::pair<size_t, size_t>> rows;  // per batch token: (request, position)
    while (true) {
        for (size_t s = 0; s < slots.size(); ++s) {
            if (!busy[s] && next_request < requests.size()) {
                slots[s] = {next_request++, 0};
                busy[s] = true;
            }
        }
        b.n_tokens = 0;
        rows.clear();
        for (size_t s = 0; s < slots.size() && b.n_tokens < batch; ++s) {
            if (!busy[s]) {
                continue;
            }
            auto & slot = slots[s];
            const auto & r = requests[slot.request];
            for (; slot.next < r.tokens.size() && b.n_tokens < batch; ++slot.next) {
                const int j = b.n_tokens++;
                b.token[j] = r.tokens[slot.next];
                b.pos[j] = static_cast<llama_pos>(slot.next);
                b.n_seq_id[j] = 1;
                b.seq_id[j][0] = static_cast<llama_seq_id>(s);
                // This position predicts a continuation token.
                b.logits[j] = slot.next + 1 >= r.n_context && slot.next + 1 < r.tokens.size() ? 1 : 0;
                rows.emplace_back(slot.request, slot.next);
            }
        }
        if (b.n_tokens == 0) {
            break;
        }
        if (llama_decode(ctx.get(), b) != 0) {
            llama_batch_free(b);
            throw std::runtime_error("batched reference decode failed");
        }
        for (int j = 0; j < b.n_tokens; ++j) {
            if (b.logits[j] == 0) {
                continue;
            }
            const auto [request, pos] = rows[static_cast<size_t>(j)];
            const auto [logprob, greedy] =
                test::token_logprob(llama_get_logits_ith(ctx.get(), j), n_vocab, requests[request].tokens[pos + 1]);
            out[request].logprob += logprob;
            out[request].greedy = out[request].greedy && greedy;
            ++out[request].n_tokens;
        }
        for (size_t s = 0; s < slots.size(); ++s) {
            if (busy[s] && slots[s].next == requests[slots[s].request].tokens.size()) {
                llama_memory_seq_rm(llama_get_memory(ctx.get()), static_cast<llama_seq_id>(s), -1, -1);
                busy[s] = false;
            }
        }
    }
    llama_batch_free(b);
    return out;
}

double max_logprob_difference(const std::vector<LoglikelihoodResult> & a, const std::vector<LoglikelihoodResult> & b) {
    if (a.size() != b.size()) {
        throw std::runtime_error("result lists of different sizes");
    }
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, std::abs(a[i].logprob - b[i].logprob));
    }
    return worst;
}

// The floors are the tolerances docs/exactness.md states per weight type:
// what the engine was measured to keep on a CPU without AVX512-FP16, with room.
ExactnessBound exactness_bound(const std::string & weight_type) {
    if (weight_type == "f32") {
        return {1e-3};
    }
    if (weight_type == "f16") {
        return {1e-2};
    }
    if (weight_type == "bf16") {
        return {5e-2};
    }
    if (weight_type == "q8_0") {
        return {1e-1};
    }
    return {2.5e-1};  // the other quantized types
}

}  // namespace compeval::test
