#pragma once
// A run's samples.jsonl regrouped the way lm-evaluation-harness sees a run:
// per model, one lm-eval task per compeval task x split x prompt variant,
// each holding its documents (items) with the scored choices.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace compeval::lm_eval {

struct Choice {
    std::string continuation;  // as scored (the chat form strips leading spaces)
    double logprob = 0.0;
    bool greedy = false;
};

struct Doc {
    std::string id;
    std::string split;
    int64_t line = 0;
    std::string context;
    int64_t gold = 0;
    std::vector<Choice> choices;
    std::map<std::string, int64_t> pred;  // compeval metric -> predicted choice
    std::string fields;                   // JSON text: keeps Doc free of members that throw on copy
};

struct LmTask {
    std::string group;  // the compeval task
    std::string split;
    std::string variant;
    std::string form;
    std::vector<Doc> docs;
    std::set<std::string> ids;
};

struct ModelRun {
    std::string sha256;
    std::string n_params;  // JSON text as summary.json has it; empty when absent
    bool chat = false;
    std::map<std::string, LmTask> tasks;  // by lm-eval task name
    // compeval tasks lm-eval's multiple-choice records cannot hold: outcomes
    // that are not choices (pair "equal"), and the first-token and generative routes
    std::set<std::string> left_out;
};

// Reads RUN/samples.jsonl; throws compeval::Error "PATH:LINE: cause" on bad
// input (malformed JSON, a gold or prediction outside the choices, a model
// with two hashes, an item twice). Documents are in source-line order.
std::map<std::string, ModelRun> read_samples(const std::string & run_dir);

// Adds parameter counts from RUN/summary.json where it has them.
void read_parameter_counts(const std::string & run_dir, std::map<std::string, ModelRun> & models);

}  // namespace compeval::lm_eval
