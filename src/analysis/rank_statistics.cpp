#include "analysis/rank_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace compeval {

double cosine(const std::vector<float> & a, const std::vector<float> & b) {
    double dot = 0.0;
    double na = 0.0;
    double nb = 0.0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
        dot += static_cast<double>(a[i]) * b[i];
        na += static_cast<double>(a[i]) * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    return na == 0.0 || nb == 0.0 ? 0.0 : dot / std::sqrt(na * nb);
}

double roc_auc(const std::vector<double> & positives, const std::vector<double> & negatives) {
    if (positives.empty() || negatives.empty()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    double wins = 0.0;
    for (double p : positives) {
        for (double n : negatives) {
            wins += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
        }
    }
    return wins / (static_cast<double>(positives.size()) * static_cast<double>(negatives.size()));
}

std::vector<double> average_ranks(const std::vector<double> & values) {
    std::vector<size_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    std::vector<double> ranks(values.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) {
            ++j;
        }
        const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 + 1.0;
        for (size_t k = i; k <= j; ++k) {
            ranks[order[k]] = rank;
        }
        i = j + 1;
    }
    return ranks;
}

double spearman(const std::vector<double> & x, const std::vector<double> & y) {
    const size_t n = std::min(x.size(), y.size());
    if (n < 2) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    const auto rx = average_ranks(x);
    const auto ry = average_ranks(y);
    const double mean = (static_cast<double>(n) + 1.0) / 2.0;
    double sxy = 0.0;
    double sxx = 0.0;
    double syy = 0.0;
    for (size_t i = 0; i < n; ++i) {
        sxy += (rx[i] - mean) * (ry[i] - mean);
        sxx += (rx[i] - mean) * (rx[i] - mean);
        syy += (ry[i] - mean) * (ry[i] - mean);
    }
    if (sxx == 0.0 || syy == 0.0) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return sxy / std::sqrt(sxx * syy);
}

}  // namespace compeval
