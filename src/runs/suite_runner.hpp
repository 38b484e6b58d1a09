#pragma once
// Runs a suite: every model x task, scoring only what the results store does
// not hold yet, in fixed chunks that are committed one by one.
#include "backends/model.hpp"
#include "runs/results_store.hpp"
#include "runs/sharding.hpp"
#include "runs/suite_spec.hpp"
#include "tasks/task_runner.hpp"

#include <atomic>
#include <functional>

namespace compeval {

// Where a suite run is, for a progress line: model i of N, its task j of M
// (a task read by several routes counts once per route; representational
// tasks are not counted), the requests of this model x task (those found in
// the store count as done), and the suite's planned tokens (suite_plan.hpp)
// done so far and in all.
struct SuiteProgress {
    size_t model = 0;  // 1-based
    size_t models = 0;
    std::string model_name;
    size_t task = 0;  // 1-based
    size_t tasks = 0;
    std::string task_name;
    size_t done = 0;
    size_t total = 0;
    size_t reused = 0;  // of `done`, found in the store when the task began
    uint64_t suite_tokens_done = 0;
    uint64_t suite_tokens = 0;
    bool suite_tokens_known = false;      // false when a remote model's tokens cannot be planned
    size_t suite_requests = 0;            // planned: the unique requests the store lacks
    uint64_t suite_tokens_requested = 0;  // their own tokens summed (suite_tokens counts shared prefixes once)
};

struct SuiteRunOptions {
    int threads = 0;
    int batch = 256;
    // Unique requests per committed chunk. Chunks are cut from a fixed order,
    // so a resumed run scores exactly the chunks that were not committed, with
    // the same batch composition: its numbers equal an uninterrupted run's.
    size_t chunk = 512;
    const std::atomic<bool> * cancel = nullptr;
    // Called when a model x task begins and after each committed chunk; when
    // set, the run plans its tokens first (plan_suite) for the suite's ETA.
    std::function<void(const SuiteProgress &)> progress;
    std::function<void(const std::string &)> log;  // one line per event (a quantized model being made)
    ShardSpec shard;                               // score only this shard's chunks (docs/scale-out.md)
    bool reuse_only = false;  // throw instead of scoring a request the store lacks (merge's export)
};

struct ModelTaskResult {
    SuiteModel model;
    ModelFacts facts;
    const TaskSpec * spec = nullptr;
    TaskResult result;
    size_t scored = 0;           // requests scored in this run
    size_t reused = 0;           // requests found in the store
    size_t unique_requests = 0;  // distinct requests the task needs (scored + reused)
};

// Everything the store has measured about one model's cost, over all runs.
struct ModelCost {
    SuiteModel model;
    ModelFacts facts;
    std::vector<ScoringCost> measured;
};

struct ModelLayerResult {
    SuiteModel model;
    ModelFacts facts;
    const RepresentationSpec * spec = nullptr;
    RepresentationResult result;
};

struct SuiteRunResult {
    std::vector<ModelTaskResult> results;
    std::vector<ModelLayerResult> layers;  // representational tasks (recomputed each run)
    std::vector<ModelCost> costs;
    std::vector<std::string> notes;  // what could not be computed, and why
    size_t scored = 0;
    size_t reused = 0;
    ShardPlan shard;  // a shard run: results hold counters only, exports write shard.json
};

SuiteRunResult run_suite(const SuiteSpec & suite, ResultsStore & store, const SuiteRunOptions & options = {});

// samples.jsonl (one line per model x task x item x variant), summary.json and
// summary.csv (one row per model x task x split x variant, every metric),
// layers.csv, and cost.json (measured scoring cost per model and task).
void export_suite_results(const SuiteRunResult & run, const std::string & dir);

}  // namespace compeval
