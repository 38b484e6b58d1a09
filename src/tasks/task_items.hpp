#pragma once
// Turns a task's data rows into scorable items: fields for the prompt, the
// answer continuations, and the index of the correct one.
#include "data/table_reader.hpp"
#include "tasks/task_spec.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval {

struct TaskItem {
    std::string id;
    std::string split;
    size_t line = 0;
    std::map<std::string, std::string> fields;  // row fields plus derived ones
    std::vector<std::string> choices;           // continuations, as scored after a plain prompt
    // What gold and predictions index where they are not the choices: a pair
    // comparison's "first", "second" (and "equal") labels. Empty = the choices.
    std::vector<std::string> outcomes;
    int gold = 0;
    std::string stratum;        // the gold answer a limit stratifies by (item_sample.hpp)
    std::vector<double> human;  // group_by: the group's rows per outcome (counts), else empty
    size_t rows = 1;            // data rows behind the item (group_by: the group's size)

    const std::vector<std::string> & outcome_texts() const { return outcomes.empty() ? choices : outcomes; }
};

// Validates columns (every field a template, label or choice needs) before
// building anything; throws compeval::Error naming the task file's line and
// field and the data file and its columns. Derived columns (TaskSpec::derive)
// are added first, so a label may be derived; then rows are filtered
// (`where`), built and grouped (`group_by`). Item ids must be unique.
std::vector<TaskItem> build_task_items(const TaskSpec & spec, Table table, const std::string & split);

// Reads and builds one split of a task.
std::vector<TaskItem> load_task_items(const TaskSpec & spec, const std::string & split, const std::string & path);

// The few-shot pool: the task's layout, or the pool's own (fewshot.format,
// columns renamed by fewshot.map, labels by fewshot.labels, fewshot.where).
std::vector<TaskItem> load_fewshot_items(const TaskSpec & spec);

// Reads and builds every split and the few-shot pool, so that a suite refuses
// a bad column, label or id before any model is scored.
void check_task_data(const TaskSpec & spec);

}  // namespace compeval
