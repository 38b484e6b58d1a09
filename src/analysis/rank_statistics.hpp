#pragma once
// Small statistics the representational tasks report per layer.
#include <vector>

namespace compeval {

double cosine(const std::vector<float> & a, const std::vector<float> & b);

// Area under the ROC curve: the probability that a random positive scores
// above a random negative (ties count half). NaN if either class is empty.
double roc_auc(const std::vector<double> & positives, const std::vector<double> & negatives);

// Ranks 1..n, tied values sharing their average rank.
std::vector<double> average_ranks(const std::vector<double> & values);

// Spearman's rho: Pearson correlation of the average ranks. NaN for n < 2 or constant input.
double spearman(const std::vector<double> & x, const std::vector<double> & y);

}  // namespace compeval
