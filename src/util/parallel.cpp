#include "util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
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

void run_costliest_first(std::vector<CostedTask> ready, int threads,
                         const std::function<std::vector<CostedTask>(size_t id)> & run) {
    std::mutex mutex;
    std::condition_variable changed;
    size_t running = 0;
    std::exception_ptr error;
    const auto worker = [&] {
        std::unique_lock<std::mutex> lock(mutex);
        for (;;) {
            changed.wait(lock, [&] { return error || !ready.empty() || running == 0; });
            if (error || ready.empty()) {
                return;  // failed, or nothing ready and nothing running that could make more
            }
            const auto next = std::max_element(
                ready.begin(), ready.end(), [](const CostedTask & a, const CostedTask & b) { return a.cost < b.cost; });
            const size_t id = next->id;
            ready.erase(next);
            ++running;
            lock.unlock();
            std::vector<CostedTask> made_ready;
            std::exception_ptr failure;
            try {
                made_ready = run(id);
            } catch (...) {
                failure = std::current_exception();
            }
            lock.lock();
            --running;
            if (failure && !error) {
                error = failure;
            }
            ready.insert(ready.end(), made_ready.begin(), made_ready.end());
            changed.notify_all();
        }
    };
    std::vector<std::thread> workers;
    for (int w = 1; w < std::max(threads, 1); ++w) {
        workers.emplace_back(worker);
    }
    worker();
    for (auto & t : workers) {
        t.join();
    }
    if (error) {
        std::rethrow_exception(error);
    }
}

}  // namespace compeval
