#pragma once
// The report's cost section: measured speed and memory per model (from the
// run's cost.json), cost per 1k items at a user-given price, the
// accuracy-vs-cost Pareto frontier, and a recommendation that applies the
// three decision criteria of the study (robustness on unseen combinations,
// cost, and whether instruction tuning costs compositional accuracy).
#include "analysis/statistics.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace compeval {

// What the report knows about one model's answers.
struct ModelScores {
    std::vector<double> all_items;            // per item, averaged over prompts, every task
    std::vector<double> compositional_items;  // unseen-combination items where a task has them, else all
    // Accuracy of always giving each task's most common gold answer, or chance
    // where that is higher (a yes-biased model beats 1/choices on yes-heavy data).
    double baseline = 0.5;
    std::string variant;
    std::string family;
};

struct CostOptions {
    double price_per_hour = 0;  // 0: costs are given in machine-seconds per 1k items
    int iterations = 2000;
    uint64_t seed = 1;
    // Recipes trained with several seeds (name -> its models): the
    // recommendation weighs a recipe, pooled over its seeds, rather than its
    // luckiest seed; models of no such recipe stand alone.
    std::map<std::string, std::vector<std::string>> recipes;
};

// `cost_file` is the run's cost.json ({"models": [...]}, or null for runs
// without one); `findings` the report's findings (for the tuning criterion).
nlohmann::json cost_section(const nlohmann::json & cost_file, const std::map<std::string, ModelScores> & scores,
                            const nlohmann::json & findings, const CostOptions & options);

// Indices of the points not dominated by another (higher-or-equal accuracy at
// lower-or-equal cost, one of them strictly).
std::vector<size_t> pareto_frontier(const std::vector<double> & accuracy, const std::vector<double> & cost);

}  // namespace compeval
