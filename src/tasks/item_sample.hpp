#pragma once
// Which items a limit keeps. Public data files are often sorted by label or by
// item, so the first N rows can be all one label and give an accuracy of 0 or
// 1 that says nothing about the model; a limit therefore draws a seeded
// sample, stratified by the gold answer, the same rows for every model.
#include "tasks/task_items.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace compeval {

enum class LimitOrder {
    Sample,  // a seeded sample, stratified by gold answer (the default)
    File,    // the first N items in file order
};

LimitOrder limit_order_from_name(const std::string & name);  // "sample", "file"
const char * limit_order_name(LimitOrder order);

struct ItemLimit {
    size_t n = 0;  // items per split; 0 = all
    LimitOrder order = LimitOrder::Sample;
    uint64_t seed = 1;
};

// {"n", "order", "seed"}: how a run's items were chosen, for its records.
nlohmann::json limit_json(const ItemLimit & limit);

// The items of one split that `limit` keeps, in file order. A stratum (the
// items sharing a gold answer) keeps its share of n, rounded by largest
// remainder (TaskItem::stratum); which of its items are kept depends only on the seed, the task,
// the split and the stratum, never on the model or on the other strata.
std::vector<TaskItem> limit_items(std::vector<TaskItem> items, const ItemLimit & limit, const std::string & task,
                                  const std::string & split);

}  // namespace compeval
