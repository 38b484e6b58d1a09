#include "lab/flat_adamw.hpp"

#include "util/fixed_order_sum.hpp"

#include <algorithm>
#include <cmath>

namespace compeval {

FlatAdamW::FlatAdamW(size_t n_params, const AdamWSettings & settings)
    : s_(settings), m_(n_params, 0.0F), v_(n_params, 0.0F) {}

double FlatAdamW::step(float * params, float * grads, double lr) {
    const size_t n = m_.size();
    const double norm = std::sqrt(fixed_order_sum<double>(
        n, [grads](size_t i) { return static_cast<double>(grads[i]) * static_cast<double>(grads[i]); }));
    // clip_grad_norm_ multiplies by min(1, clip / (norm + 1e-6)).
    const auto scale = static_cast<float>(std::min(1.0, s_.clip / (norm + 1e-6)));

    ++t_;
    const double correction1 = 1.0 - std::pow(s_.beta1, static_cast<double>(t_));
    const double correction2 = 1.0 - std::pow(s_.beta2, static_cast<double>(t_));
    const auto decay = static_cast<float>(1.0 - lr * s_.weight_decay);
    const auto b1 = static_cast<float>(s_.beta1);
    const auto b2 = static_cast<float>(s_.beta2);
    const auto one_minus_b1 = static_cast<float>(1.0 - s_.beta1);
    const auto one_minus_b2 = static_cast<float>(1.0 - s_.beta2);
    const auto inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(correction2));
    const auto eps = static_cast<float>(s_.eps);
    const auto step_size = static_cast<float>(lr / correction1);
    float * m = m_.data();
    float * v = v_.data();
    for (size_t i = 0; i < n; ++i) {
        const float g = grads[i] * scale;
        grads[i] = g;
        m[i] = b1 * m[i] + one_minus_b1 * g;
        v[i] = b2 * v[i] + one_minus_b2 * g * g;
        params[i] = params[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps);
    }
    return norm;
}

}  // namespace compeval
