#include "analysis/statistics.hpp"

#include "util/error.hpp"

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace compeval {
namespace {

double normal_quantile(double p) {
    return boost::math::quantile(boost::math::normal_distribution<double>(), p);
}

double mean(const std::vector<double> & v) {
    return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

}  // namespace

BootstrapInterval percentile_interval(std::vector<double> draws, double estimate, int iterations, uint64_t seed,
                                      double level) {
    std::sort(draws.begin(), draws.end());
    const double tail = (1.0 - level) / 2.0;
    const auto at = [&](double q) {
        const auto i = static_cast<size_t>(
            std::clamp(q * static_cast<double>(draws.size() - 1), 0.0, static_cast<double>(draws.size() - 1)));
        return draws[i];
    };
    BootstrapInterval out;
    out.estimate = estimate;
    out.low = at(tail);
    out.high = at(1.0 - tail);
    out.iterations = iterations;
    out.seed = seed;
    return out;
}

double bootstrap_two_sided_p(const std::vector<double> & draws) {
    const auto below = std::count_if(draws.begin(), draws.end(), [](double d) { return d <= 0.0; });
    const auto above = std::count_if(draws.begin(), draws.end(), [](double d) { return d >= 0.0; });
    return std::min(1.0, 2.0 * static_cast<double>(std::min(below, above)) / static_cast<double>(draws.size()));
}

Interval wilson_interval(uint64_t successes, uint64_t n, double level) {
    if (n == 0) {
        throw Error("a proportion needs at least one item");
    }
    const double z = normal_quantile(1.0 - (1.0 - level) / 2.0);
    const auto nn = static_cast<double>(n);
    const double p = static_cast<double>(successes) / nn;
    const double denom = 1.0 + z * z / nn;
    const double centre = (p + z * z / (2.0 * nn)) / denom;
    const double half = z * std::sqrt(p * (1.0 - p) / nn + z * z / (4.0 * nn * nn)) / denom;
    return {p, std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

BootstrapInterval bootstrap_mean(const std::vector<double> & values, int iterations, uint64_t seed, double level) {
    if (values.empty() || iterations < 1) {
        throw Error("a bootstrap needs at least one value and one iteration");
    }
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
    std::vector<double> draws(static_cast<size_t>(iterations));
    for (auto & d : draws) {
        double sum = 0.0;
        for (size_t i = 0; i < values.size(); ++i) {
            sum += values[pick(rng)];
        }
        d = sum / static_cast<double>(values.size());
    }
    return percentile_interval(std::move(draws), mean(values), iterations, seed, level);
}

BootstrapInterval paired_bootstrap_difference(const std::vector<double> & a, const std::vector<double> & b,
                                              int iterations, uint64_t seed, double level) {
    if (a.size() != b.size() || a.empty()) {
        throw Error("a paired comparison needs the same non-empty item set for both models");
    }
    std::vector<double> diff(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
        diff[i] = a[i] - b[i];
    }
    return bootstrap_mean(diff, iterations, seed, level);
}

double mcnemar_exact_p(uint64_t b, uint64_t c) {
    const uint64_t n = b + c;
    if (n == 0) {
        return 1.0;
    }
    const boost::math::binomial_distribution<double> dist(static_cast<double>(n), 0.5);
    const double tail = boost::math::cdf(dist, static_cast<double>(std::min(b, c)));
    return std::min(1.0, 2.0 * tail);
}

double least_squares_slope(const std::vector<double> & x, const std::vector<double> & y) {
    if (x.size() != y.size() || x.size() < 2) {
        throw Error("a slope needs at least two points");
    }
    const double mx = mean(x);
    const double my = mean(y);
    double sxy = 0.0;
    double sxx = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
    }
    if (sxx == 0.0) {
        throw Error("a slope needs at least two distinct x values");
    }
    return sxy / sxx;
}

double minimum_detectable_effect(uint64_t n, double baseline, double alpha, double power) {
    if (n == 0) {
        throw Error("no items");
    }
    const double z = normal_quantile(1.0 - alpha / 2.0) + normal_quantile(power);
    // Never zero at a 0% or 100% baseline: use at least one item's worth of variance.
    const auto nn = static_cast<double>(n);
    const double p = std::clamp(baseline, 0.5 / nn, 1.0 - 0.5 / nn);
    return z * std::sqrt(2.0 * p * (1.0 - p) / nn);
}

std::vector<double> holm_adjust(const std::vector<double> & p) {
    std::vector<size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] < p[b]; });
    std::vector<double> adjusted(p.size());
    double running = 0.0;
    for (size_t k = 0; k < order.size(); ++k) {
        const double value = std::min(1.0, static_cast<double>(p.size() - k) * p[order[k]]);
        running = std::max(running, value);  // keep adjusted p-values monotone
        adjusted[order[k]] = running;
    }
    return adjusted;
}

}  // namespace compeval
