#include "util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace compeval {

int resolve_threads(int threads) {
    if (threads > 0) {
        return threads;
    }
    return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

void parallel_for(size_t n, int threads, const std::function<void(size_t)> & work) {
    std::vector<std::exception_ptr> errors(n);
    std::atomic<size_t> next{0};
    const auto run = [&] {
        for (size_t i = next++; i < n; i = next++) {
            try {
                work(i);
            } catch (...) {
                errors[i] = std::current_exception();
            }
        }
    };
    const size_t n_workers = std::min<size_t>(static_cast<size_t>(std::max(threads, 1)), n);
    std::vector<std::thread> workers;
    for (size_t w = 1; w < n_workers; ++w) {
        workers.emplace_back(run);
    }
    run();
    for (auto & t : workers) {
        t.join();
    }
    for (const auto & e : errors) {
        if (e) {
            std::rethrow_exception(e);
        }
    }
}

}  // namespace compeval
