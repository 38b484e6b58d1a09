#pragma once
// What the scorer needs from one row of logits: its log-normaliser and argmax.
#include <cstddef>
#include <cstdint>

namespace compeval {

struct RowSummary {
    double log_normalizer = 0.0;  // log(sum(exp(logits)))
    int32_t argmax = 0;           // first index of the maximum (greedy decoding's pick)
};

RowSummary summarize_logits(const float * logits, size_t n_vocab);

}  // namespace compeval
