#pragma once
// The study's causal questions, per family and task: does instruction
// tuning change accuracy (each instruct recipe against the base recipe of its
// size) and does scale (the slope of base accuracy on log10 parameters, and
// with three or more sizes the largest against the smallest)? Both compare
// models of one weight type (quant label). And does quantization (each
// quantized recipe against the recipe it was quantized from, seed by seed,
// with McNemar's exact p on the pooled discordant pairs beside the
// bootstrap)? Each is asked
// over all items and, where a task has seen and unseen combinations, over the
// unseen ones alone. A recipe is one model or, where the suite gives models a
// `group`, the seeds of one recipe pooled (replicate_statistics.hpp).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace compeval {

struct ReportModel {
    std::string family;
    std::string size;
    std::string variant;
    std::string group;  // "" = its own recipe
    int64_t seed = -1;
    double n_params = 0;
    std::string quant;           // "" = the weights as trained (or as given); else e.g. "Q4_K_M"
    std::string quantized_from;  // the model it was quantized from, when the suite says
};

// Per item ("split\x1fid"): the score averaged over prompt variants.
using ItemScores = std::map<std::string, double>;
// (model, task) -> its item scores.
using ModelTaskScores = std::map<std::pair<std::string, std::string>, ItemScores>;

// Every finding: family, task, split ("all" or "unseen"), comparison, a, b,
// n (items), effect, low, high, p, p_holm (over the whole table), mde,
// seeds_a, seeds_b, quant, verdict; quantization findings add discordant
// counts (a_only, b_only) and p_mcnemar.
nlohmann::json compute_findings(const std::map<std::string, ReportModel> & models, const ModelTaskScores & scores,
                                int iterations, uint64_t seed);

// The recipes with several seeds: group name -> its models (by seed).
std::map<std::string, std::vector<std::string>> multi_seed_recipes(const std::map<std::string, ReportModel> & models);

// Each recipe's accuracy per task and split, pooled over its seeds with an
// interval that resamples seeds and items; empty unless some recipe has
// several seeds.
nlohmann::json recipe_table(const std::map<std::string, ReportModel> & models, const ModelTaskScores & scores,
                            int iterations, uint64_t seed);

}  // namespace compeval
