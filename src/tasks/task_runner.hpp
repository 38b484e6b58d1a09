#pragma once
// Runs a task (every split x every prompt variant) on one model through the
// scoring engine and computes every enabled metric side by side.
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/answer_distribution.hpp"
#include "tasks/item_sample.hpp"
#include "tasks/task_items.hpp"
#include "tasks/task_spec.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
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
    ItemLimit limit;  // items per split (n = 0: all), drawn as item_sample.hpp says
    int threads = 0;  // tokenizing threads (0: all hardware threads)
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
    std::map<std::string, int> pred;  // metric -> predicted outcome (a choice, or a pair comparison's "equal")
    std::optional<DistributionScore> distribution;  // `metrics: [distribution]`
    // The first-token and generative routes (answer_task.hpp): what the model
    // wrote, verbatim (generative); whether it named no label; per choice, its
    // first token's log-probability and whether the API listed it (an
    // unlisted one holds an upper bound).
    std::string answer;
    bool no_answer = false;
    std::vector<double> first_token;
    std::vector<bool> first_token_listed;
    std::vector<std::pair<std::string, double>> first_top;  // the candidates as listed (token, log-probability)

    // Any of the item's choices needed the separate rule.
    bool separate_boundary() const;
};

struct TaskMetrics {
    std::string split;
    std::string variant;  // a prompt name, or "mean" (averaged over variants)
    size_t n = 0;
    // metric -> accuracy; with the distribution metric also the means of
    // "distribution_tv" and "distribution_js" (lower is closer to the humans).
    std::map<std::string, double> values;
    // Of the n items, those whose choices needed the separate token boundary
    // (the "mean" row: items that needed it under any prompt variant).
    size_t boundary_separate = 0;
};

struct TaskResult {
    std::string task;
    std::string form;  // "plain" or "chat"
    // How answers were read: "loglikelihood" (in-process), "forced_tokens" or
    // "echo" (a server's log-likelihoods), "first_token" or "generate"; and
    // for the last two where from ("in_process", "chat_completions", "completions").
    std::string route = "loglikelihood";
    std::string endpoint;
    ItemLimit limit;  // what kept the items (recorded with the run)
    std::vector<TaskItem> items;
    std::vector<TaskItemResult> results;
    std::vector<TaskMetrics> metrics;  // per split x variant, then per split "mean"

    // The task's name in results: "NAME", or "NAME:first_token" / "NAME:generate".
    std::string label() const;
    bool reads_answers() const { return route == "first_token" || route == "generate"; }
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

// Accuracy per split x prompt variant (and their mean) under each metric,
// from the results' predictions; the distribution distances; and, for the
// answer routes, the rates of `no_answer` and of items with a label missing
// from the first token's top candidates (`top_k_missing`).
void compute_task_metrics(const TaskSpec & spec, const std::vector<std::string> & metrics, TaskResult & result);

// prepare_task, score every request with the engine, finish_task.
TaskResult run_task(LoglikelihoodScorer & scorer, const TaskSpec & spec, const TaskRunOptions & options = {});

// One item x variant as a JSON object: task, split, id, line, variant, form,
// the exact context, gold, predictions per metric, kept fields and every
// choice's scores. Shared by `compeval eval -o` and suite exports.
nlohmann::json sample_json(const TaskSpec & spec, const TaskResult & result, const TaskItemResult & r);

// The predicted choice under one metric (first maximum on ties). With
// `equal_margin` >= 0 (a pair comparison with an "equal" label), two choices
// whose scores differ by at most the margin predict outcome 2, "equal".
int predict(const std::string & metric, const std::vector<LoglikelihoodResult> & choices,
            const std::vector<double> & calibration, const std::vector<std::string> & choice_texts,
            double equal_margin = -1);

}  // namespace compeval
