#pragma once
// Paired differences between two runs (their samples.jsonl): the same items
// scored twice, e.g. a base model and its instruction-tuned variant.
#include "analysis/statistics.hpp"

#include <string>
#include <vector>

namespace compeval {

struct PairedComparison {
    std::string group;  // "task / split / prompt", prefixed by the model when both runs share model names
    size_t n = 0;       // items present in both runs
    double acc_a = 0.0;
    double acc_b = 0.0;
    BootstrapInterval difference;  // acc_a - acc_b, paired bootstrap
    uint64_t only_a = 0;           // items only run A got right
    uint64_t only_b = 0;
    double p_mcnemar = 1.0;
    double p_holm = 1.0;  // Holm-adjusted over all groups reported together
    double mde = 0.0;     // minimum detectable effect for n at acc_b
};

// Pairs sample lines by (task, split, id, prompt variant) and, when the runs
// share a model name, by model; compares correctness under `metric`.
std::vector<PairedComparison> compare_runs(const std::string & run_a, const std::string & run_b,
                                           const std::string & metric = "acc", int iterations = 2000,
                                           uint64_t seed = 1);

}  // namespace compeval
