#pragma once
// A sum in eight interleaved partial sums, added up in a fixed order: the same
// result on every call, and the compiler may vectorize it, which it may not do
// for one running sum (float addition does not reorder).
#include <array>
#include <cstddef>

namespace compeval {

template <typename Acc, typename Term>
Acc fixed_order_sum(size_t n, Term term) {
    constexpr size_t kLanes = 8;
    std::array<Acc, kLanes> lanes{};
    size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        for (size_t l = 0; l < kLanes; ++l) {
            lanes[l] += term(i + l);
        }
    }
    Acc sum = 0;
    for (; i < n; ++i) {
        sum += term(i);
    }
    for (const Acc lane : lanes) {
        sum += lane;
    }
    return sum;
}

}  // namespace compeval
