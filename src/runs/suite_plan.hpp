#pragma once
// The work a suite run has left, before it starts: per model x task, the
// requests the store lacks and the tokens scoring them decodes (for the
// log-likelihood route the chunks' prefix-tree sizes, as the engine decodes
// them and the shard planner weighs them; for the answer routes the prompts'
// tokens plus each answer's token budget). It is what the progress line's
// suite ETA divides by, so every task weighs what it costs, not its item count.
#include "runs/results_store.hpp"
#include "runs/sharding.hpp"
#include "runs/suite_spec.hpp"
#include "tasks/task_runner.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace compeval {

struct PlannedStep {
    size_t model = 0;  // index into suite.models
    size_t task = 0;   // index into suite.tasks
    size_t route = 0;  // index into the task's routes
    size_t requests = 0;
    std::optional<uint64_t> tokens;  // unknown for a remote model (its tokenizer is the server's)
    uint64_t tokens_requested = 0;   // the requests' own tokens, summed: what scoring each alone decodes
};

struct SuitePlan {
    std::vector<PlannedStep> steps;  // in the runner's order
    bool tokens_known() const;       // every step's tokens are planned
    uint64_t tokens() const;         // over the steps that have them
    uint64_t tokens_requested() const;
    size_t requests() const;
    const PlannedStep * find(size_t model, size_t task, size_t route) const;
};

// Tokenizes every task with each local model's tokenizer (loaded vocab-only)
// and looks the requests up in the store; remote models are counted by
// requests only. Representational tasks and other shards' requests are not
// planned (they report no progress). `chunk` and `shard` are the runner's: a
// shard plans only the chunks the shard planner gives it.
SuitePlan plan_suite(const SuiteSpec & suite, ResultsStore & store, size_t chunk, ShardSpec shard = {});

// How the runner prompts a suite model on a task (chat for an instruct
// variant unless the suite task says plain), and its item limit.
TaskRunOptions suite_task_options(const SuiteModel & model, const SuiteTask & task);

// Tokens the prefix tree of these requests holds: what scoring them in one
// chunk decodes.
uint64_t chunk_tokens(const std::vector<const std::vector<Token> *> & sequences);

}  // namespace compeval
