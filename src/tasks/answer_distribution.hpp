#pragma once
// Where several raters answered the same item, the question is not only
// whether the model's top answer is the humans' majority but how far its
// distribution over the label words is from theirs. The model's distribution
// is the softmax of the choices' log-likelihoods.
#include <vector>

namespace compeval {

struct DistributionScore {
    std::vector<double> model;   // probability per choice
    std::vector<double> human;   // share of the raters per choice
    double total_variation = 0;  // 1/2 sum |model - human|, in [0, 1]
    double jensen_shannon = 0;   // divergence in bits, in [0, 1]
};

// `logprobs` per choice; `human_counts` raters per choice (at least one).
DistributionScore compare_distributions(const std::vector<double> & logprobs, const std::vector<double> & human_counts);

}  // namespace compeval
