#include "analysis/ability_correlation.hpp"

#include "analysis/rank_statistics.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace compeval {

double spearman_permutation_p(const std::vector<double> & x, const std::vector<double> & y, int samples,
                              uint64_t seed) {
    const size_t n = x.size();
    if (n < 3 || y.size() != n) {
        return std::nan("");
    }
    const double observed = std::abs(spearman(x, y));
    if (std::isnan(observed)) {
        return std::nan("");
    }
    // A tolerance so that permutations tying the observed |rho| count as extreme.
    const double threshold = observed - 1e-12;
    std::vector<double> permuted = y;
    uint64_t extreme = 0;
    uint64_t total = 0;
    if (n <= 8) {
        std::sort(permuted.begin(), permuted.end());
        do {
            const double r = std::abs(spearman(x, permuted));
            extreme += (!std::isnan(r) && r >= threshold) ? 1 : 0;
            ++total;
        } while (std::next_permutation(permuted.begin(), permuted.end()));
        return static_cast<double>(extreme) / static_cast<double>(total);
    }
    std::mt19937_64 rng(seed);
    for (int s = 0; s < samples; ++s) {
        std::shuffle(permuted.begin(), permuted.end(), rng);
        const double r = std::abs(spearman(x, permuted));
        extreme += (!std::isnan(r) && r >= threshold) ? 1 : 0;
    }
    // Counting the observed arrangement keeps p above zero.
    return static_cast<double>(extreme + 1) / static_cast<double>(samples + 1);
}

nlohmann::json ability_correlation(const std::map<std::string, double> & performance,
                                   const std::map<std::string, std::map<std::string, double>> & measures) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto & [measure, values] : measures) {
        std::vector<double> x;
        std::vector<double> y;
        std::vector<std::string> models;
        for (const auto & [model, value] : values) {
            const auto it = performance.find(model);
            if (it != performance.end() && !std::isnan(value) && !std::isnan(it->second)) {
                x.push_back(value);
                y.push_back(it->second);
                models.push_back(model);
            }
        }
        nlohmann::json row = {{"measure", measure}, {"n_models", x.size()}, {"models", models}};
        const double rho = x.size() >= 2 ? spearman(x, y) : std::nan("");
        const double p = spearman_permutation_p(x, y);
        row["rho"] = std::isnan(rho) ? nlohmann::json(nullptr) : nlohmann::json(rho);
        row["p"] = std::isnan(p) ? nlohmann::json(nullptr) : nlohmann::json(p);
        if (x.size() < 3 || std::isnan(p)) {
            row["verdict"] = fmt::format("too few models with distinct values to tell (n={})", x.size());
        } else if (p < 0.05) {
            row["verdict"] = fmt::format("{} with task performance: rho {:+.2f}, p {:.3f}, n={}",
                                         rho > 0 ? "goes together" : "goes against", rho, p, x.size());
        } else {
            row["verdict"] = fmt::format("no detectable association at n={}: rho {:+.2f}, p {:.3f}", x.size(), rho, p);
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

}  // namespace compeval
