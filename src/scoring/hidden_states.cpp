#include "scoring/hidden_states.hpp"

#include "backends/llama_runtime.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "scoring/requests.hpp"
#include "util/error.hpp"

#include <ggml-backend.h>
#include <ggml.h>
#include <llama.h>

#include <map>
#include <memory>
#include <string>

namespace compeval {
namespace {

// Collects the graph tensors holding the residual stream: "l_out-K" (after
// block K+1) and, for layer 0, the token-embedding lookup (the unnamed
// GET_ROWS of token_embd.weight), or "inp_scaled" where an architecture
// scales its embeddings.
struct Capture {
    std::map<std::string, int> wanted;  // tensor name -> index into options.layers
    int embedding_slot = -1;            // index of layer 0 in options.layers
    std::vector<std::vector<float>> data;
    std::vector<int64_t> rows;
};

int capture_slot(const Capture & capture, const ggml_tensor * t) {
    if (capture.embedding_slot >= 0) {
        const bool lookup = t->op == GGML_OP_GET_ROWS && t->src[0] != nullptr &&
                            std::string(ggml_get_name(t->src[0])) == "token_embd.weight";
        if (lookup || std::string(ggml_get_name(t)) == "inp_scaled") {
            return capture.embedding_slot;
        }
    }
    const auto it = capture.wanted.find(ggml_get_name(t));
    return it == capture.wanted.end() ? -1 : it->second;
}

bool capture_callback(ggml_tensor * t, bool ask, void * user) {
    auto * capture = static_cast<Capture *>(user);
    const int slot = capture_slot(*capture, t);
    if (slot < 0) {
        return !ask;
    }
    if (ask) {
        return true;
    }
    if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) {
        return false;  // aborts the graph: reported below as a missing layer
    }
    auto & out = capture->data[static_cast<size_t>(slot)];
    out.resize(static_cast<size_t>(ggml_nelements(t)));
    ggml_backend_tensor_get(t, out.data(), 0, ggml_nbytes(t));
    capture->rows[static_cast<size_t>(slot)] = t->ne[1];
    return true;
}

std::string tensor_name(int layer) {
    return layer == 0 ? "token embeddings" : "l_out-" + std::to_string(layer - 1);
}

using ContextPtr = std::unique_ptr<llama_context, decltype(&llama_free)>;

}  // namespace

HiddenStateExtractor::HiddenStateExtractor(const Model & model, HiddenStateOptions options)
    : model_(model), options_(std::move(options)) {
    const int n_layer = model_.facts().n_layer;
    if (options_.layers.empty()) {
        for (int l = 0; l <= n_layer; ++l) {
            options_.layers.push_back(l);
        }
    }
    for (int l : options_.layers) {
        if (l < 0 || l > n_layer) {
            throw Error("layer " + std::to_string(l) + " out of range: the model has layers 0 (embeddings) to " +
                        std::to_string(n_layer));
        }
    }
}

std::vector<LayerVectors> HiddenStateExtractor::extract(const std::vector<HiddenStateRequest> & requests) {
    std::vector<TokenizedRequest> tokenized;
    size_t max_len = 0;
    for (const auto & r : requests) {
        tokenized.push_back(tokenize_request(model_, {r.context, r.target, r.parse_special}));
        max_len = std::max(max_len, tokenized.back().tokens.size());
    }
    const int n_batch = std::max(options_.batch, static_cast<int>(max_len));
    const auto n_embd = static_cast<size_t>(model_.facts().n_embd);

    Capture capture;
    for (size_t i = 0; i < options_.layers.size(); ++i) {
        if (options_.layers[i] == 0) {
            capture.embedding_slot = static_cast<int>(i);
        } else {
            capture.wanted[tensor_name(options_.layers[i])] = static_cast<int>(i);
        }
    }
    llama_context_params params = llama_context_default_params();
    params.n_ctx = static_cast<uint32_t>(n_batch);
    params.n_batch = static_cast<uint32_t>(n_batch);
    params.n_ubatch = static_cast<uint32_t>(n_batch);  // one ubatch per decode: rows map to batch order
    params.n_seq_max = 64;
    params.n_outputs_max = static_cast<uint32_t>(std::max(n_batch, 64));
    params.kv_unified = true;
    params.n_threads = resolve_threads(options_.threads);
    params.n_threads_batch = params.n_threads;
    params.type_k = GGML_TYPE_F32;
    params.type_v = GGML_TYPE_F32;
    params.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    params.cb_eval = capture_callback;
    params.cb_eval_user_data = &capture;
    params.no_perf = true;
    ContextPtr ctx(llama_init_from_model(model_.raw(), params), &llama_free);
    if (!ctx) {
        throw Error("cannot create a llama.cpp context for hidden states: " + last_llama_error());
    }

    std::vector<LayerVectors> results(requests.size());
    llama_batch batch = llama_batch_init(n_batch, 0, 1);
    std::unique_ptr<llama_batch, void (*)(llama_batch *)> batch_guard(&batch,
                                                                      [](llama_batch * b) { llama_batch_free(*b); });
    for (size_t first = 0; first < tokenized.size();) {
        // Pack whole requests, one sequence each.
        size_t last = first;
        size_t n_tokens = 0;
        while (last < tokenized.size() && static_cast<int>(last - first) < 64 &&
               n_tokens + tokenized[last].tokens.size() <= static_cast<size_t>(n_batch)) {
            n_tokens += tokenized[last].tokens.size();
            ++last;
        }
        batch.n_tokens = 0;
        std::vector<std::vector<int>> span_rows(last - first);     // batch indices pooled per request
        std::vector<std::vector<int>> span_outputs(last - first);  // same, as output indices
        int n_outputs = 0;
        for (size_t r = first; r < last; ++r) {
            const auto & req = tokenized[r];
            for (size_t p = 0; p < req.tokens.size(); ++p) {
                const bool pooled =
                    p >= req.n_context && (options_.pooling == Pooling::Mean || p + 1 == req.tokens.size());
                const int i = batch.n_tokens++;
                batch.token[i] = req.tokens[p];
                batch.pos[i] = static_cast<llama_pos>(p);
                batch.n_seq_id[i] = 1;
                batch.seq_id[i][0] = static_cast<llama_seq_id>(r - first);
                batch.logits[i] = pooled ? 1 : 0;
                if (pooled) {
                    span_rows[r - first].push_back(i);
                    span_outputs[r - first].push_back(n_outputs++);
                }
            }
        }
        for (auto & d : capture.data) {
            d.clear();
        }
        capture.data.assign(options_.layers.size(), {});
        capture.rows.assign(options_.layers.size(), 0);
        clear_last_llama_error();
        if (llama_decode(ctx.get(), batch) != 0) {
            throw Error("llama_decode failed while extracting hidden states: " + last_llama_error());
        }
        for (size_t li = 0; li < options_.layers.size(); ++li) {
            const auto & data = capture.data[li];
            const int64_t rows = capture.rows[li];
            if (data.empty()) {
                throw Error("layer " + std::to_string(options_.layers[li]) + " (" + tensor_name(options_.layers[li]) +
                            ") was not produced by the " + model_.facts().architecture + " graph");
            }
            // The last block's output is pruned to the output rows unless every token is an output.
            const bool pruned = rows == n_outputs && rows != batch.n_tokens;
            if (!pruned && rows != batch.n_tokens) {
                throw Error("unexpected row count " + std::to_string(rows) + " for " +
                            tensor_name(options_.layers[li]));
            }
            for (size_t r = first; r < last; ++r) {
                const auto & idx = pruned ? span_outputs[r - first] : span_rows[r - first];
                std::vector<float> pooled(n_embd, 0.0F);
                for (int row : idx) {
                    const float * v = data.data() + static_cast<size_t>(row) * n_embd;
                    for (size_t e = 0; e < n_embd; ++e) {
                        pooled[e] += v[e];
                    }
                }
                for (auto & x : pooled) {
                    x /= static_cast<float>(idx.size());
                }
                results[r].push_back(std::move(pooled));
            }
        }
        llama_memory_clear(llama_get_memory(ctx.get()), true);
        first = last;
    }
    return results;
}

}  // namespace compeval
