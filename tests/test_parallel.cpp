// run_costliest_first: every task runs once, a task made ready by another
// runs after it, the costliest ready task goes first, and an error stops new
// tasks and reaches the caller.
#include "util/error.hpp"
#include "util/parallel.hpp"

#include <gtest/gtest.h>

#include <mutex>

namespace compeval {
namespace {

TEST(RunCostliestFirst, RunsEveryTaskOnceAndChildrenAfterTheirParent) {
    // Tasks 0..9 are ready; task i < 10 makes task 10 + i ready.
    std::vector<CostedTask> ready;
    for (size_t i = 0; i < 10; ++i) {
        ready.push_back({i, static_cast<double>(i % 3)});
    }
    for (const int threads : {1, 2, 4}) {
        std::mutex mutex;
        std::vector<int> runs(20, 0);
        std::vector<bool> parent_done_first(20, true);
        run_costliest_first(ready, threads, [&](size_t id) {
            const std::lock_guard<std::mutex> lock(mutex);
            ++runs[id];
            if (id >= 10 && runs[id - 10] != 1) {
                parent_done_first[id] = false;
            }
            return id < 10 ? std::vector<CostedTask>{{id + 10, 1.0}} : std::vector<CostedTask>{};
        });
        for (size_t id = 0; id < 20; ++id) {
            EXPECT_EQ(runs[id], 1) << "task " << id << ", " << threads << " threads";
            EXPECT_TRUE(parent_done_first[id]) << "task " << id << ", " << threads << " threads";
        }
    }
}

TEST(RunCostliestFirst, OneThreadTakesTheCostliestReadyTaskFirst) {
    std::vector<size_t> order;
    run_costliest_first({{0, 1.0}, {1, 5.0}, {2, 3.0}, {3, 5.0}}, 1, [&](size_t id) {
        order.push_back(id);
        // Task 1 makes a cheap task and a costly one ready.
        return id == 1 ? std::vector<CostedTask>{{4, 0.5}, {5, 4.0}} : std::vector<CostedTask>{};
    });
    EXPECT_EQ(order, (std::vector<size_t>{1, 3, 5, 2, 0, 4}));
}

TEST(RunCostliestFirst, AnErrorStopsNewTasksAndIsRethrown) {
    std::vector<size_t> order;
    EXPECT_THROW(run_costliest_first({{0, 3.0}, {1, 2.0}, {2, 1.0}}, 1,
                                     [&](size_t id) -> std::vector<CostedTask> {
                                         order.push_back(id);
                                         if (id == 1) {
                                             throw Error("task 1 failed");
                                         }
                                         return {};
                                     }),
                 Error);
    EXPECT_EQ(order, (std::vector<size_t>{0, 1}));
}

}  // namespace
}  // namespace compeval
