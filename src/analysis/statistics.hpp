#pragma once
// The statistics compeval reports with every number: intervals for
// proportions, paired tests between two models on the same items, scaling
// slopes, the minimum detectable effect, and multiple-comparison correction.
#include <cstdint>
#include <vector>

namespace compeval {

struct Interval {
    double estimate = 0.0;
    double low = 0.0;
    double high = 0.0;
};

// Wilson score interval for successes/n (never zero-width at 0% or 100%).
Interval wilson_interval(uint64_t successes, uint64_t n, double level = 0.95);

struct BootstrapInterval : Interval {
    int iterations = 0;
    uint64_t seed = 0;
};

// The percentile interval of bootstrap draws around `estimate`.
BootstrapInterval percentile_interval(std::vector<double> draws, double estimate, int iterations, uint64_t seed,
                                      double level);

// Two-sided bootstrap p for an effect of zero: twice the smaller share of
// draws on either side of zero.
double bootstrap_two_sided_p(const std::vector<double> & draws);

// Percentile bootstrap interval of the mean of `values` (seeded).
BootstrapInterval bootstrap_mean(const std::vector<double> & values, int iterations = 2000, uint64_t seed = 1,
                                 double level = 0.95);

// Paired bootstrap of mean(a) - mean(b) over the same items (resampled together).
BootstrapInterval paired_bootstrap_difference(const std::vector<double> & a, const std::vector<double> & b,
                                              int iterations = 2000, uint64_t seed = 1, double level = 0.95);

// McNemar's exact test on the discordant counts of a paired 2x2 table
// (b: only the first model right, c: only the second): two-sided p-value.
double mcnemar_exact_p(uint64_t b, uint64_t c);

// A slope with its bootstrap interval (replicate_statistics.hpp fits one).
struct Slope {
    double slope = 0.0;
    double low = 0.0;
    double high = 0.0;
    int iterations = 0;
    double p_value = 1.0;  // two-sided bootstrap p for a slope of zero
};

// Least-squares slope of y on x.
double least_squares_slope(const std::vector<double> & x, const std::vector<double> & y);

// Smallest difference between two accuracies near `baseline` that a two-sided
// test at `alpha` detects with `power`, for n items per model (normal approximation).
double minimum_detectable_effect(uint64_t n, double baseline, double alpha = 0.05, double power = 0.8);

// Holm-Bonferroni adjusted p-values, in the input order.
std::vector<double> holm_adjust(const std::vector<double> & p);

}  // namespace compeval
