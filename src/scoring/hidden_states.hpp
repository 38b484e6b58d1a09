#pragma once
// Residual-stream vectors per layer, for the representational tasks.
#include "backends/model.hpp"

#include <vector>

namespace compeval {

enum class Pooling { Last, Mean };

// The span whose hidden states are pooled is `target`, read after `context`
// (tokenized like a log-likelihood request, so the boundary is the same).
struct HiddenStateRequest {
    std::string context;
    std::string target;
    bool parse_special = false;
};

struct HiddenStateOptions {
    // 0 = the embedding layer (token embeddings), k = the residual stream after
    // block k (1..n_layer). Empty = every layer.
    std::vector<int> layers;
    Pooling pooling = Pooling::Last;
    int threads = 0;
    int batch = 512;
};

// One pooled vector (n_embd floats) per requested layer, in options.layers order.
using LayerVectors = std::vector<std::vector<float>>;

class HiddenStateExtractor {
  public:
    HiddenStateExtractor(const Model & model, HiddenStateOptions options);
    std::vector<LayerVectors> extract(const std::vector<HiddenStateRequest> & requests);
    const std::vector<int> & layers() const { return options_.layers; }

  private:
    const Model & model_;
    HiddenStateOptions options_;
};

}  // namespace compeval
