#include "tasks/answer_distribution.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace compeval {
namespace {

// Kullback-Leibler divergence in bits; 0 log 0 = 0.
double kl_bits(const std::vector<double> & p, const std::vector<double> & q) {
    double sum = 0;
    for (size_t i = 0; i < p.size(); ++i) {
        if (p[i] > 0) {
            sum += p[i] * std::log2(p[i] / q[i]);
        }
    }
    return sum;
}

}  // namespace

DistributionScore compare_distributions(const std::vector<double> & logprobs,
                                        const std::vector<double> & human_counts) {
    if (logprobs.size() != human_counts.size() || logprobs.empty()) {
        throw Error("a distribution needs one human count per choice");
    }
    const double raters = std::accumulate(human_counts.begin(), human_counts.end(), 0.0);
    if (raters <= 0) {
        throw Error("a distribution needs at least one rater");
    }
    DistributionScore d;
    const double top = *std::max_element(logprobs.begin(), logprobs.end());
    double z = 0;
    for (const double lp : logprobs) {
        z += std::exp(lp - top);
    }
    std::vector<double> mid(logprobs.size());
    for (size_t i = 0; i < logprobs.size(); ++i) {
        d.model.push_back(std::exp(logprobs[i] - top) / z);
        d.human.push_back(human_counts[i] / raters);
        d.total_variation += std::abs(d.model[i] - d.human[i]) / 2.0;
        mid[i] = (d.model[i] + d.human[i]) / 2.0;
    }
    d.jensen_shannon = std::clamp((kl_bits(d.model, mid) + kl_bits(d.human, mid)) / 2.0, 0.0, 1.0);
    return d;
}

}  // namespace compeval
