#pragma once
// The study's second question: across models, does compositional ability
// (representational measures, unseen-combination accuracy) go with overall
// task performance? Spearman's rho over models with an exact permutation p.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace compeval {

// Two-sided p of Spearman's rho under exchangeability: every permutation of y
// for n <= 8, else `samples` seeded random ones. NaN for n < 3.
double spearman_permutation_p(const std::vector<double> & x, const std::vector<double> & y, int samples = 20000,
                              uint64_t seed = 1);

// `performance`: model -> overall accuracy; `measures`: measure -> model ->
// value. One row per measure: n models, rho, p and a plain verdict.
nlohmann::json ability_correlation(const std::map<std::string, double> & performance,
                                   const std::map<std::string, std::map<std::string, double>> & measures);

}  // namespace compeval
