#pragma once
// A llama.cpp context as compeval's engines use one, and the one way they
// decode through it.
//
// Why decodes are padded: llama.cpp's CPU backend multiplies F16 and BF16
// weights with another kernel when a product has a single column — one token
// in the ubatch, or one output row in the last layer, which llama.cpp prunes
// to the rows whose logits are asked for. That kernel (ggml_vec_dot_f16)
// accumulates in FP16 on a CPU with AVX512-FP16, where the batched one
// (llamafile's tinyBLAS) accumulates in F32: the same request scored at batch
// 1 moved by up to 2e-2 nats against batch 512 there. For such models a
// decode that would have a single column carries a second token in a
// sequence of its own (its KV cell is freed right after), so every product
// takes the batched kernel whatever the batch size.
#include "backends/model.hpp"

#include <ggml-backend.h>
#include <llama.h>

#include <cstdint>

namespace compeval {

struct EngineOptions;

// `eval` observes the graph's tensors (the hidden-state extractor's capture).
struct EvalCallback {
    ggml_backend_sched_eval_callback callback = nullptr;
    void * user_data = nullptr;
};

// Whether the model multiplies 16-bit float weights (F16, BF16), whose
// single-column kernel differs from the batched one (see above).
bool pads_single_columns(const ModelFacts & facts);

class EngineContext {
  public:
    // EngineOptions' batch, threads, KV cache type, flash attention and cancel
    // flag; `n_seq_max` sequences sharing `n_ctx` cells. Throws
    // compeval::Error naming the size.
    EngineContext(const Model & model, const EngineOptions & options, int n_ctx, int n_seq_max, EvalCallback eval = {});
    ~EngineContext();
    EngineContext(const EngineContext &) = delete;
    EngineContext & operator=(const EngineContext &) = delete;
    EngineContext(EngineContext &&) = delete;
    EngineContext & operator=(EngineContext &&) = delete;

    llama_context * get() const { return ctx_; }
    llama_memory_t memory() const { return llama_get_memory(ctx_); }
    // KV cells sequences 0..n_seq_max-1 may fill together (a pad's cell is kept apart).
    int cells() const { return cells_; }

    // llama_decode of `batch` (made with room for one token more than the
    // options' batch size). A pad token, when one is needed, goes last and is
    // gone from the batch and the memory on return, so batch indices (and
    // llama_get_logits_ith) mean what they meant. Returns llama_decode's code.
    int32_t decode(llama_batch & batch);
    // Whether the last decode carried a pad token, and with an output row.
    bool last_padded() const { return last_padded_; }
    bool last_pad_had_output() const { return last_pad_output_; }
    uint64_t pads() const { return pads_; }

  private:
    llama_context * ctx_ = nullptr;
    llama_seq_id pad_seq_ = -1;  // -1: this model is never padded
    int cells_ = 0;
    bool last_padded_ = false;
    bool last_pad_output_ = false;
    uint64_t pads_ = 0;
};

}  // namespace compeval
