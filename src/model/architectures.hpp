#pragma once
// What a GGUF of each supported architecture must contain for llama.cpp's
// loader: its metadata keys and its tensors (names, ggml shapes, file order).
// Read off the pinned llama.cpp (src/models/<arch>.cpp, load_arch_hparams and
// load_arch_tensors): the loader refuses a missing required tensor, a wrong
// shape, a key of the wrong type, and any tensor it does not use.
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace compeval {

struct RandomModelSpec;

struct TensorPlan {
    std::string name;
    int64_t ne0;
    int64_t ne1;   // 1 for vectors
    float stddev;  // of the random fill; 0: filled with `fill`
    float fill = 1.0F;
};

using MetadataValue = std::variant<uint32_t, float, bool>;

struct ArchitectureLayout {
    std::vector<std::pair<std::string, MetadataValue>> metadata;  // "{arch}." keys, without the prefix
    std::vector<TensorPlan> tensors;
    // The factor llama.cpp multiplies token embeddings by before block 1
    // (Gemma: sqrt(n_embd)); layer 0 of the hidden states is scaled by it.
    float embedding_scale = 1.0F;
};

// llama (Llama 2/3, Mistral, CodeLlama), falcon, qwen2, qwen3, gemma2, gemma3, phi3.
std::vector<std::string> model_architectures();

// The keys and tensors of `spec.architecture` with `spec`'s shape; throws
// compeval::Error for an unknown architecture or a shape it cannot have.
ArchitectureLayout architecture_layout(const RandomModelSpec & spec, int64_t n_vocab);

}  // namespace compeval
