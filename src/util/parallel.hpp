#pragma once
// Small CPU parallelism helpers shared by the engines and request preparation.
#include <cstddef>
#include <functional>

namespace compeval {

// Resolves 0 to the number of hardware threads.
int resolve_threads(int threads);

// Runs work(i) for every i in [0, n) on up to `threads` threads (the caller's
// among them). If any call throws, the exception of the lowest failing index
// is rethrown after all have finished, so which error is reported does not
// depend on timing.
void parallel_for(size_t n, int threads, const std::function<void(size_t)> & work);

}  // namespace compeval
