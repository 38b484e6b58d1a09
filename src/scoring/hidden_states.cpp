#include "scoring/hidden_states.hpp"

#include "backends/llama_runtime.hpp"
#include "scoring/engine_context.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "scoring/prefix_tree.hpp"
#include "scoring/requests.hpp"
#include "scoring/tree_schedule.hpp"
#include "util/error.hpp"

#include <ggml-backend.h>
#include <ggml.h>
#include <llama.h>

#include <algorithm>
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

constexpr int kSequences = 64;  // KV sequences of the extraction context

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
    if (requests.empty()) {
        return {};
    }
    const int threads = resolve_threads(options_.threads);
    std::vector<LoglikelihoodRequest> texts;
    texts.reserve(requests.size());
    for (const auto & r : requests) {
        texts.push_back({r.context, r.target, r.parse_special});
    }
    const std::vector<TokenizedRequest> tokenized = tokenize_requests(model_, texts, threads);
    size_t max_len = 0;
    std::vector<const std::vector<Token> *> sequences;
    for (const auto & t : tokenized) {
        max_len = std::max(max_len, t.tokens.size());
        sequences.push_back(&t.tokens);
    }
    // Requests share their prefixes (a carrier sentence, a repeated head
    // noun) as scoring does: a token's residual stream depends only on the
    // tokens before it, so each tree node is decoded once, and its vectors are
    // kept where some request pools them.
    const PrefixTree tree = PrefixTree::build(sequences);
    std::vector<int32_t> slot(tree.size(), -1);
    std::vector<std::vector<int32_t>> pooled_nodes(requests.size());
    int32_t n_slots = 0;
    for (size_t i = 0; i < tokenized.size(); ++i) {
        auto & nodes = pooled_nodes[i];
        for (int32_t n = tree.end_node[i]; n >= 0 && tree.depth[n] >= static_cast<int32_t>(tokenized[i].n_context);
             n = tree.parent[n]) {
            nodes.push_back(n);
            if (options_.pooling == Pooling::Last) {
                break;
            }
        }
        std::reverse(nodes.begin(), nodes.end());  // summed in position order
        for (const int32_t n : nodes) {
            if (slot[n] < 0) {
                slot[n] = n_slots++;
            }
        }
    }
    const auto n_embd = static_cast<size_t>(model_.facts().n_embd);
    std::vector<std::vector<float>> stored(options_.layers.size(),
                                           std::vector<float>(static_cast<size_t>(n_slots) * n_embd));

    Capture capture;
    for (size_t i = 0; i < options_.layers.size(); ++i) {
        if (options_.layers[i] == 0) {
            capture.embedding_slot = static_cast<int>(i);
        } else {
            capture.wanted[tensor_name(options_.layers[i])] = static_cast<int>(i);
        }
    }
    EngineOptions engine;
    engine.threads = threads;
    engine.batch = options_.batch;  // one ubatch per decode: captured rows are in batch order
    const int window = std::max(options_.batch, static_cast<int>(max_len));
    EngineContext ctx(model_, engine, static_cast<int>(max_len) + window, kSequences, {capture_callback, &capture});

    llama_batch batch = llama_batch_init(options_.batch + 1, 0, kSequences);  // + 1: a pad token
    std::unique_ptr<llama_batch, void (*)(llama_batch *)> batch_guard(&batch,
                                                                      [](llama_batch * b) { llama_batch_free(*b); });
    std::vector<int32_t> batch_nodes;
    std::vector<int> output_row;  // per batch token: its row among the outputs
    int n_outputs = 0;
    const auto flush = [&] {
        if (batch.n_tokens == 0) {
            return;
        }
        capture.data.assign(options_.layers.size(), {});
        capture.rows.assign(options_.layers.size(), 0);
        clear_last_llama_error();
        if (ctx.decode(batch) != 0) {
            throw Error("llama_decode failed while extracting hidden states: " + last_llama_error());
        }
        // A pad token's row (EngineContext) comes after the batch's own.
        const int decoded = batch.n_tokens + (ctx.last_padded() ? 1 : 0);
        const int outputs = n_outputs + (ctx.last_pad_had_output() ? 1 : 0);
        for (size_t li = 0; li < options_.layers.size(); ++li) {
            const auto & data = capture.data[li];
            const int64_t rows = capture.rows[li];
            // The last block's output is pruned to the output rows unless every token is an output.
            const bool pruned = rows == outputs && rows != decoded;
            if (data.empty() && n_outputs > 0) {
                throw Error("layer " + std::to_string(options_.layers[li]) + " (" + tensor_name(options_.layers[li]) +
                            ") was not produced by the " + model_.facts().architecture + " graph");
            }
            if (!pruned && rows != decoded) {
                throw Error("unexpected row count " + std::to_string(rows) + " for " +
                            tensor_name(options_.layers[li]));
            }
            for (int i = 0; i < batch.n_tokens; ++i) {
                const int32_t s = slot[batch_nodes[static_cast<size_t>(i)]];
                if (s < 0) {
                    continue;
                }
                const auto row = static_cast<size_t>(pruned ? output_row[static_cast<size_t>(i)] : i);
                std::copy_n(data.data() + row * n_embd, n_embd, stored[li].data() + static_cast<size_t>(s) * n_embd);
            }
        }
        batch.n_tokens = 0;
        batch_nodes.clear();
        output_row.clear();
        n_outputs = 0;
    };
    const auto add = [&](int32_t node, const std::vector<llama_seq_id> & seqs) {
        const int i = batch.n_tokens++;
        batch.token[i] = tree.token[node];
        batch.pos[i] = tree.depth[node];
        batch.n_seq_id[i] = static_cast<int32_t>(seqs.size());
        std::copy(seqs.begin(), seqs.end(), batch.seq_id[i]);
        batch.logits[i] = slot[node] >= 0 ? 1 : 0;
        batch_nodes.push_back(node);
        output_row.push_back(batch.logits[i] != 0 ? n_outputs++ : -1);
        if (batch.n_tokens == options_.batch) {
            flush();
        }
    };
    schedule_tree(tree, ctx.memory(), {ctx.cells(), window, kSequences, true}, add, [&](size_t) { flush(); });

    std::vector<LayerVectors> results(requests.size());
    for (size_t r = 0; r < requests.size(); ++r) {
        for (size_t li = 0; li < options_.layers.size(); ++li) {
            std::vector<float> pooled(n_embd, 0.0F);
            for (const int32_t n : pooled_nodes[r]) {
                const float * v = stored[li].data() + static_cast<size_t>(slot[n]) * n_embd;
                for (size_t e = 0; e < n_embd; ++e) {
                    pooled[e] += v[e];
                }
            }
            for (auto & x : pooled) {
                x /= static_cast<float>(pooled_nodes[r].size());
            }
            results[r].push_back(std::move(pooled));
        }
    }
    return results;
}

}  // namespace compeval
