#pragma once
// AdamW over all of a model's parameters at once: one pass over a flat
// parameter buffer and its gradient, with the gradient-norm clip folded in.
// Per element it is torch::optim::AdamW's update (decoupled weight decay,
// bias-corrected moments, eps added outside the square root) after
// torch::nn::utils::clip_grad_norm_; what changes is the number of kernels:
// two loops per step instead of ~10 tensor operations per parameter tensor.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace compeval {

struct AdamWSettings {
    double beta1 = 0.9;
    double beta2 = 0.95;
    double eps = 1e-8;
    double weight_decay = 0.01;
    double clip = 1.0;  // the largest gradient norm (L2 over all parameters)
};

class FlatAdamW {
  public:
    FlatAdamW(size_t n_params, const AdamWSettings & settings);

    // One step at learning rate `lr`: clips `grads` in place when their norm
    // exceeds the limit, then updates `params`. Returns the norm before clipping.
    double step(float * params, float * grads, double lr);

  private:
    AdamWSettings s_;
    std::vector<float> m_;  // first moment
    std::vector<float> v_;  // second moment
    int64_t t_ = 0;
};

}  // namespace compeval
