#pragma once
// The report's risk-and-review section: per model x task x split, how well
// the confidence of each answer (RunSample::confidence) matches its accuracy
// and what share of answers may go through alone at a target error rate; per
// model (a multi-seed recipe pooled) the same over its tasks, the threshold
// set on seen combinations tried on unseen ones, the cheapest threshold when
// a person's review has a price, and one sentence for the recommendation.
// Intervals resample items (every prompt variant and seed of an item together).
#include "analysis/run_samples.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace compeval {

struct CalibrationOptions {
    std::vector<double> max_errors = {0.01, 0.05};  // the first is the recommendation's
    double review_cost = -1;                        // per item sent to a person; < 0: not priced
    std::map<std::string, double> error_costs;      // "GOLD->PRED" -> rework of that error let through (else 1)
    int iterations = 2000;
    uint64_t seed = 1;
    std::map<std::string, std::vector<std::string>> recipes;  // multi-seed recipe -> its models
    std::string lang = "en";
    // Measured machine cost per 1k items per model, in the review cost's
    // currency (the cost section's at a price per hour); empty: not added.
    std::map<std::string, double> machine_per_1k;
};

nlohmann::json calibration_section(const std::vector<RunSample> & samples, const CalibrationOptions & options);

}  // namespace compeval
