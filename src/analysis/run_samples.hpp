#pragma once
// The per-sample lines of a run directory (samples.jsonl), read once for
// every analysis: one model's answer to one item under one prompt variant.
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
    size_t n_choices = 0;
    bool separate_boundary = false;             // a choice needed the separate token boundary (tokenize_request)
    std::map<std::string, std::string> fields;  // kept per-item fields (class, slot values, ...)
};

// Throws compeval::Error naming RUN/samples.jsonl and the line on bad input.
std::vector<RunSample> read_run_samples(const std::string & run_dir, const std::string & metric);

}  // namespace compeval
