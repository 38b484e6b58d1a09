#pragma once
// The report's scoring-method comparison: where one model answered the same
// items by several routes (log-likelihood, first-token, generative), their
// paired accuracies; and where instruction tuning was measured under several
// routes, its verdict under each, flagged where the direction differs.
#include "analysis/run_samples.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace compeval {

// Per model x task x split x pair of routes: items both routes answered
// (each averaged over prompt variants), both accuracies, the paired
// bootstrap interval of the difference, McNemar's exact p on the item x
// variant answers, and each route's no_answer count.
nlohmann::json scoring_method_comparison(const std::vector<RunSample> & samples, int iterations, uint64_t seed);

// From the findings (findings.hpp): the instruction-tuning rows of one family,
// task and split under every route it was measured with; `flips` is true
// where the routes disagree on the direction (an interval above zero, below
// zero, or spanning it).
nlohmann::json instruction_tuning_by_route(const nlohmann::json & findings);

// Per model x task label: answers, those naming no label, and (first-token)
// those with a label missing from the listed candidates, with Wilson intervals.
nlohmann::json answer_route_rates(const std::vector<RunSample> & samples);

}  // namespace compeval
