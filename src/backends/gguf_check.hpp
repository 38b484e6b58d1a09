#pragma once
// Validates a GGUF file's structure before llama.cpp loads it, so that a
// truncated or foreign file gets a precise one-line error instead of a crash
// or a generic "failed to load model".
#include <cstdint>
#include <string>

namespace compeval {

// What the check read of the tensors on the way.
struct GgufTensorCounts {
    // Weights outside the token embedding and output layer: the part every
    // decoded token multiplies (the roofline's 2 x N FLOPs per token).
    uint64_t non_embedding_params = 0;
};

// Throws compeval::Error naming the file and the cause when the file is not a
// complete GGUF: missing, not GGUF (bad magic), unparsable header, or tensor
// data extending past the end of the file (truncated).
GgufTensorCounts check_gguf_file(const std::string & path);

}  // namespace compeval
