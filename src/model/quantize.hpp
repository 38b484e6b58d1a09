#pragma once
// Quantizing a GGUF model through the pinned llama.cpp's own quantizer
// (llama_model_quantize, what llama-quantize calls): the same tensor-type
// choices per tensor, including the fallback for tensors whose rows do not
// fit a type's block size. The result is deterministic: the same source and
// type give the same bytes whatever the thread count.
#include <cstdint>
#include <string>

namespace compeval {

struct QuantizeOptions {
    int threads = 0;                // 0: every core
    bool allow_requantize = false;  // quantize a file whose tensors are already quantized (loses more)
};

struct QuantizeResult {
    std::string type;  // the canonical label, "Q4_K_M"
    double seconds = 0;
    uint64_t source_bytes = 0;
    uint64_t bytes = 0;
};

// Writes `out` (through a temporary file, so it never exists half written).
// Throws compeval::Error naming the file and the cause: an unknown type, a
// source that is not a complete GGUF, or one already quantized.
QuantizeResult quantize_gguf(const std::string & source, const std::string & out, const std::string & type,
                             const QuantizeOptions & options = {});

// "DIR/model-q4_k_m.gguf" for "DIR/model.gguf": where a quantized variant is
// kept when nothing else is said.
std::string quantized_path_beside(const std::string & source, const std::string & type);

// Makes `out` unless its record (OUT.json: the source's SHA-256, the type and
// the llama.cpp version) says it was made from these very source bytes; a
// file with no record is the user's own and is kept. Returns true when it
// quantized.
bool ensure_quantized(const std::string & source, const std::string & out, const std::string & type,
                      const QuantizeOptions & options = {});

}  // namespace compeval
