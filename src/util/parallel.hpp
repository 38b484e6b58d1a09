#pragma once
// Small CPU parallelism helpers shared by the engines and request preparation.
#include <cstddef>
#include <functional>
#include <vector>

namespace compeval {

// Resolves 0 to the number of hardware threads.
int resolve_threads(int threads);

// Runs work(i) for every i in [0, n) on up to `threads` threads (the caller's
// among them). If any call throws, the exception of the lowest failing index
// is rethrown after all have finished, so which error is reported does not
// depend on timing.
void parallel_for(size_t n, int threads, const std::function<void(size_t)> & work);

// A task of run_costliest_first: an id for the caller and its expected cost.
struct CostedTask {
    size_t id = 0;
    double cost = 0;
};

// Runs tasks on up to `threads` threads (the caller's among them), always the
// costliest ready task next (the first listed among equals), so the last to
// finish are cheap ones. run(id) returns the tasks that its completion makes
// ready. After a task throws no new task starts; the first error is rethrown
// once the running tasks have finished.
void run_costliest_first(std::vector<CostedTask> ready, int threads,
                         const std::function<std::vector<CostedTask>(size_t id)> & run);

}  // namespace compeval
