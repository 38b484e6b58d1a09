#pragma once
// The per-sample lines of a run directory (samples.jsonl), read once for
// every analysis: one model's answer to one item under one prompt variant.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace compeval {

struct RunSample {
    std::string model;
    std::string task;            // the task's label: NAME, or NAME:first_token / NAME:generate
    std::string task_name;       // NAME: the same for every route
    std::string route;           // loglikelihood, forced_tokens, echo, first_token, generate
    bool no_answer = false;      // the answer named no label (counted wrong)
    bool top_k_missing = false;  // first-token route: a label was not among the listed candidates
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
    // Observed outcome counts per choice (grouped rows: raters, or a records
    // domain's rows of one combination); empty where the item has none.
    std::vector<double> human;
    bool separate_boundary = false;       // a choice needed the separate token boundary (tokenize_request)
    int64_t pred = -1;                    // the predicted choice under the metric (-1: no answer)
    std::vector<double> choice_logprobs;  // each choice's summed log-likelihood (log-likelihood routes)
    // The probability of the predicted answer among the choices (answer_confidence);
    // NaN where the route gives none.
    double confidence = std::numeric_limits<double>::quiet_NaN();
    std::map<std::string, std::string> fields;  // kept per-item fields (class, slot values, ...)
};

// The probability of the chosen answer over the choices: the choices'
// summed log-likelihoods (the first-token route: their first tokens'
// log-probabilities, an unlisted label at the least listed one's, its upper
// bound) normalized to sum to 1. The first-token route's "no answer" (no
// label listed) is confidence 0. NaN for generated answers (no probabilities)
// and for pair comparisons with an "equal" outcome (not one of the choices).
double answer_confidence(const std::vector<double> & logprobs, int64_t pred);

// Throws compeval::Error naming RUN/samples.jsonl and the line on bad input.
// Lines of the first-token and generative routes, which predict under "acc"
// only, are left out for another metric.
std::vector<RunSample> read_run_samples(const std::string & run_dir, const std::string & metric);

}  // namespace compeval
