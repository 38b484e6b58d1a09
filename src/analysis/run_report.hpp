#pragma once
// Turns a run directory (samples.jsonl, summary.json and cost.json from
// `compeval run`) into the study's answers: accuracy with intervals,
// per-class breakdowns, confusion tables, seen/unseen gaps, a cost-weighted
// error figure, per-layer curves, the findings table (instruction-tuning and
// scale effects per family and task, the seeds of a recipe pooled) with the
// recipe table (findings.hpp), whether compositional measures go with
// task performance across models, measured cost with a recommendation, and
// how far each answer's confidence can be trusted (calibration_section.hpp).
// Everything is recomputed from the stored samples; nothing is re-scored.
#include "analysis/run_samples.hpp"
#include "analysis/statistics.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace compeval {

struct ReportOptions {
    std::string metric = "acc";
    int iterations = 2000;
    uint64_t seed = 1;
    // Cost of an error "GOLD->PRED" (choice texts without the leading space,
    // e.g. "fine->defect"); an error kind not listed costs 1.
    std::map<std::string, double> error_costs;
    // Price of the machine per hour; 0 reports machine-seconds per 1k items.
    double price_per_hour = 0;
    // Selective prediction: the target error rates (the first is the
    // recommendation's) and the price of sending one item to a person (< 0: not priced).
    std::vector<double> max_errors = {0.01, 0.05};
    double review_cost = -1;
    // The language of every sentence in the report: "en" or "ja" (numbers are the same).
    std::string lang = "en";
};

// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json members may throw on copy; callers expect that.
struct RunReport {
    nlohmann::json data;  // every number in the report, grouped by section
    // The samples behind the numbers, for the HTML report's explorer. They are
    // not in `data` (report.json): samples.jsonl already holds each of them.
    std::vector<RunSample> samples;
};

RunReport build_report(const std::string & run_dir, const ReportOptions & options = {});

}  // namespace compeval
