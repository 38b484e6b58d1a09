#pragma once
// The per-sample lines of a run directory (samples.jsonl), read once for
// every analysis: one model's answer to one item under one prompt variant.
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace compeval {

struct RunSample {
    std::string model;
    std::string task;
    std::string split;
    std::string id;
    std::string variant;
    bool correct = false;   // under the requested metric
    std::string gold_text;  // the gold choice, without its leading space
    std::string pred_text;  // the predicted choice, likewise
    size_t n_choices = 0;   // outcomes a guess picks from (a pair comparison's "equal" included)
    // The distribution metric: distances of the model's answer distribution
    // from the raters' (NaN where the task has none).
    double total_variation = std::numeric_limits<double>::quiet_NaN();
    double jensen_shannon = std::numeric_limits<double>::quiet_NaN();
    bool separate_boundary = false;             // a choice needed the separate token boundary (tokenize_request)
    std::map<std::string, std::string> fields;  // kept per-item fields (class, slot values, ...)
};

// Throws compeval::Error naming RUN/samples.jsonl and the line on bad input.
std::vector<RunSample> read_run_samples(const std::string & run_dir, const std::string & metric);

}  // namespace compeval
