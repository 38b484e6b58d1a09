#include "scoring/engine_context.hpp"

#include "backends/llama_runtime.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "util/error.hpp"

#include <algorithm>

namespace compeval {
namespace {

bool cancel_requested(void * data) {
    const auto * flag = static_cast<const std::atomic<bool> *>(data);
    return flag != nullptr && flag->load();
}

}  // namespace

bool pads_single_columns(const ModelFacts & facts) {
    return facts.tensor_types.contains("f16") || facts.tensor_types.contains("bf16");
}

EngineContext::EngineContext(const Model & model, const EngineOptions & options, int n_ctx, int n_seq_max,
                             EvalCallback eval) {
    const bool pad = pads_single_columns(model.facts());
    const int extra = pad ? 1 : 0;  // the pad token: one more sequence, cell, batch slot and output row
    llama_context_params params = llama_context_default_params();
    params.n_ctx = static_cast<uint32_t>(n_ctx + extra);
    params.n_batch = static_cast<uint32_t>(options.batch + extra);
    params.n_ubatch = params.n_batch;  // one ubatch per decode: the pad lands beside the tokens it pads
    params.n_seq_max = static_cast<uint32_t>(n_seq_max + extra);
    // llama.cpp reserves at least one output row per sequence.
    params.n_outputs_max = static_cast<uint32_t>(std::max(options.batch, n_seq_max) + extra);
    params.n_threads = options.threads;
    params.n_threads_batch = options.threads;
    // One set of cells for every sequence: prefix sharing copies cells
    // between sequences, and a pad sequence takes one cell, not a share.
    params.kv_unified = true;
    params.flash_attn_type = options.flash_attention ? LLAMA_FLASH_ATTN_TYPE_AUTO : LLAMA_FLASH_ATTN_TYPE_DISABLED;
    params.no_perf = true;
    params.cb_eval = eval.callback;
    params.cb_eval_user_data = eval.user_data;
    if (options.f32_kv_cache) {
        params.type_k = GGML_TYPE_F32;
        params.type_v = GGML_TYPE_F32;
    }
    if (options.cancel != nullptr) {
        params.abort_callback = cancel_requested;
        params.abort_callback_data = const_cast<std::atomic<bool> *>(options.cancel);
    }
    clear_last_llama_error();
    ctx_ = llama_init_from_model(model.raw(), params);
    if (ctx_ == nullptr) {
        throw Error("cannot create a llama.cpp context of " + std::to_string(n_ctx) + " cells: " + last_llama_error());
    }
    pad_seq_ = pad ? n_seq_max : -1;
    cells_ = static_cast<int>(llama_n_ctx(ctx_)) - extra;
}

EngineContext::~EngineContext() {
    llama_free(ctx_);
}

int32_t EngineContext::decode(llama_batch & batch) {
    int n_outputs = 0;
    for (int i = 0; i < batch.n_tokens; ++i) {
        n_outputs += batch.logits[i] != 0 ? 1 : 0;
    }
    last_padded_ = pad_seq_ >= 0 && batch.n_tokens > 0 && (batch.n_tokens == 1 || n_outputs == 1);
    last_pad_output_ = last_padded_ && n_outputs == 1;
    if (!last_padded_) {
        return llama_decode(ctx_, batch);
    }
    const int i = batch.n_tokens++;
    batch.token[i] = batch.token[0];
    batch.pos[i] = 0;
    batch.n_seq_id[i] = 1;
    batch.seq_id[i][0] = pad_seq_;
    batch.logits[i] = last_pad_output_ ? 1 : 0;
    const int32_t rc = llama_decode(ctx_, batch);
    --batch.n_tokens;
    llama_memory_seq_rm(memory(), pad_seq_, -1, -1);
    ++pads_;
    return rc;
}

}  // namespace compeval
