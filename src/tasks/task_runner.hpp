#pragma once
// Runs a task (every split x every prompt variant) on one model through the
// scoring engine and computes every enabled metric side by side.
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/task_items.hpp"
#include "tasks/task_spec.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace compeval {

enum class PromptForm {
    Auto,   // chat when the model has a chat template and every variant has a chat form
    Plain,  // base-model prompts
    Chat,   // the model's own chat template; the answer is scored inside the assistant turn
};

struct TaskRunOptions {
    PromptForm form = PromptForm::Auto;
    size_t limit = 0;  // items per split (0 = all)
};

struct TaskItemResult {
    size_t item = 0;  // index into TaskResult::items
    std::string variant;
    std::string context;  // the exact context scored (after few-shot and template)
    std::vector<LoglikelihoodResult> choices;
    std::vector<double> calibration;  // each choice's log-likelihood after the content-free context
    // Which token-boundary rule each choice's request (and its calibration
    // request) needed; see tokenize_request.
    std::vector<TokenBoundary> boundaries;
    std::vector<TokenBoundary> calibration_boundaries;
    std::map<std::string, int> pred;  // metric -> predicted choice

    // Any of the item's choices needed the separate rule.
    bool separate_boundary() const;
};

struct TaskMetrics {
    std::string split;
    std::string variant;  // a prompt name, or "mean" (averaged over variants)
    size_t n = 0;
    std::map<std::string, double> values;  // metric -> accuracy
    // Of the n items, those whose choices needed the separate token boundary
    // (the "mean" row: items that needed it under any prompt variant).
    size_t boundary_separate = 0;
};

struct TaskResult {
    std::string task;
    std::string form;  // "plain" or "chat"
    std::vector<TaskItem> items;
    std::vector<TaskItemResult> results;
    std::vector<TaskMetrics> metrics;  // per split x variant, then per split "mean"
};

// A task turned into requests, before scoring: result.results hold each
// item x variant's exact context; requests[i] are its choices then the
// choices' calibration requests, in result order.
struct PreparedTask {
    TaskResult result;
    std::vector<LoglikelihoodRequest> requests;
    std::vector<TokenizedRequest> tokenized;
};

PreparedTask prepare_task(const LanguageModel & model, const TaskSpec & spec, const TaskRunOptions & options = {});

// Fills choices, calibration, predictions and metrics from one score per request.
void finish_task(const TaskSpec & spec, PreparedTask & prepared, const std::vector<LoglikelihoodResult> & scores);

// prepare_task, score every request with the engine, finish_task.
TaskResult run_task(LoglikelihoodScorer & scorer, const TaskSpec & spec, const TaskRunOptions & options = {});

// One item x variant as a JSON object: task, split, id, line, variant, form,
// the exact context, gold, predictions per metric, kept fields and every
// choice's scores. Shared by `compeval eval -o` and suite exports.
nlohmann::json sample_json(const TaskSpec & spec, const TaskResult & result, const TaskItemResult & r);

// The predicted choice under one metric (first maximum on ties).
int predict(const std::string & metric, const std::vector<LoglikelihoodResult> & choices,
            const std::vector<double> & calibration, const std::vector<std::string> & choice_texts);

}  // namespace compeval
