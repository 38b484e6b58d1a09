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
    int gold = 0;
};

// Validates columns (every field a template, label or choice needs) before
// building anything; throws compeval::Error "FILE:LINE: ..." naming the field.
// Derived columns (TaskSpec::derive) are added first, so a label may be derived.
std::vector<TaskItem> build_task_items(const TaskSpec & spec, Table table, const std::string & split);

// Reads and builds one split (or the few-shot pool) of a task.
std::vector<TaskItem> load_task_items(const TaskSpec & spec, const std::string & split, const std::string & path);

}  // namespace compeval
