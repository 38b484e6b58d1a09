#include "scoring/token_distribution.hpp"

#include <cmath>

namespace compeval {

RowSummary summarize_logits(const float * logits, size_t n_vocab) {
    RowSummary out;
    if (n_vocab == 0) {
        return out;
    }
    float max_value = logits[0];
    for (size_t i = 1; i < n_vocab; ++i) {
        if (logits[i] > max_value) {
            max_value = logits[i];
            out.argmax = static_cast<int32_t>(i);
        }
    }
    // exp in float (fast), accumulation in double: summing a 32k-128k
    // vocabulary in float would show rounding at the 1e-5 level.
    double sum = 1.0;  // the maximum's own term, exp(0)
    for (size_t i = 0; i < n_vocab; ++i) {
        if (i != static_cast<size_t>(out.argmax)) {
            sum += static_cast<double>(std::exp(logits[i] - max_value));
        }
    }
    out.log_normalizer = static_cast<double>(max_value) + std::log(sum);
    return out;
}

}  // namespace compeval
