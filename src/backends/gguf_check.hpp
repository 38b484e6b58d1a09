#pragma once
// Validates a GGUF file's structure before llama.cpp loads it, so that a
// truncated or foreign file gets a precise one-line error instead of a crash
// or a generic "failed to load model".
#include <cstdint>
#include <map>
#include <string>

namespace compeval {

// What the check read of the tensors on the way.
struct GgufTensorCounts {
    // Weights outside the token embedding and output layer: the part every
    // decoded token multiplies (the roofline's 2 x N FLOPs per token).
    uint64_t non_embedding_params = 0;
    // What the weights are stored as: ggml type name ("q4_K", "f32") ->
    // parameters, and the bytes of all tensor data (bits per weight = 8 x
    // bytes / parameters). A quantized file's real types, not its label.
    std::map<std::string, uint64_t> params_by_type;
    uint64_t params = 0;
    uint64_t tensor_bytes = 0;
    int file_type = -1;  // general.file_type (a llama_ftype), -1 when absent
};

// Throws compeval::Error naming the file and the cause when the file is not a
// complete GGUF: missing, not GGUF (bad magic), unparsable header, or tensor
// data extending past the end of the file (truncated).
GgufTensorCounts check_gguf_file(const std::string & path);

}  // namespace compeval
