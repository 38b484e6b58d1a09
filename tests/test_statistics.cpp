// Statistics against known values: published Wilson bounds, exact McNemar
// p-values counted by hand, bootstrap coverage on simulated data, a slope
// fitted by hand.
#include "analysis/replicate_statistics.hpp"
#include "analysis/statistics.hpp"

#include <gtest/gtest.h>

#include <random>

namespace compeval {
namespace {

TEST(Statistics, WilsonMatchesNewcombesPublishedIntervals) {
    // Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3.
    struct Case {
        uint64_t r, n;
        double low, high;
    };
    for (const auto & c : {Case{81, 263, 0.2553, 0.3662}, Case{15, 148, 0.0624, 0.1605}, Case{0, 20, 0.0, 0.1611},
                           Case{1, 29, 0.0061, 0.1718}}) {
        const auto w = wilson_interval(c.r, c.n);
        EXPECT_NEAR(w.low, c.low, 5e-5) << c.r << "/" << c.n;
        EXPECT_NEAR(w.high, c.high, 5e-5) << c.r << "/" << c.n;
    }
    // Never a zero-width interval at 0% or 100%.
    EXPECT_GT(wilson_interval(50, 50).high - wilson_interval(50, 50).low, 0.05);
}

TEST(Statistics, McNemarExactOnTables) {
    // 12 vs 2 discordant pairs: p = 2 * P(X <= 2), X ~ Bin(14, 1/2) = 2 * 106 / 16384.
    EXPECT_NEAR(mcnemar_exact_p(12, 2), 2.0 * 106.0 / 16384.0, 1e-12);
    EXPECT_NEAR(mcnemar_exact_p(2, 12), 2.0 * 106.0 / 16384.0, 1e-12);
    EXPECT_NEAR(mcnemar_exact_p(5, 0), 2.0 / 32.0, 1e-12);
    EXPECT_DOUBLE_EQ(mcnemar_exact_p(7, 7), 1.0);
    EXPECT_DOUBLE_EQ(mcnemar_exact_p(0, 0), 1.0);
}

TEST(Statistics, BootstrapIntervalsCoverTheTruthAbout95PercentOfTheTime) {
    const double p = 0.3;
    int covered = 0;
    const int trials = 300;
    for (int t = 0; t < trials; ++t) {
        std::mt19937_64 rng(1000 + t);
        std::bernoulli_distribution coin(p);
        std::vector<double> v(200);
        for (auto & x : v) {
            x = coin(rng) ? 1.0 : 0.0;
        }
        const auto ci = bootstrap_mean(v, 1000, static_cast<uint64_t>(t));
        covered += (ci.low <= p && p <= ci.high) ? 1 : 0;
    }
    const double coverage = static_cast<double>(covered) / trials;
    std::printf("[ measured ] bootstrap 95%% CI coverage %.3f over %d simulated data sets\n", coverage, trials);
    EXPECT_GT(coverage, 0.91);
    EXPECT_LT(coverage, 0.985);
}

TEST(Statistics, PairedBootstrapIsSeededAndCentredOnTheDifference) {
    const std::vector<double> a = {1, 1, 0, 1, 1, 0, 1, 1, 1, 0};
    const std::vector<double> b = {1, 0, 0, 0, 1, 0, 1, 0, 1, 0};
    const auto d1 = paired_bootstrap_difference(a, b, 2000, 5);
    const auto d2 = paired_bootstrap_difference(a, b, 2000, 5);
    EXPECT_DOUBLE_EQ(d1.estimate, 0.3);
    EXPECT_EQ(d1.low, d2.low);
    EXPECT_EQ(d1.high, d2.high);
    EXPECT_LE(d1.low, 0.3);
    EXPECT_GE(d1.high, 0.3);
    EXPECT_EQ(d1.iterations, 2000);
}

TEST(Statistics, ScalingSlopeMatchesAHandFit) {
    // log10 params 6, 7, 8 with accuracies 0.5, 0.6, 0.8: slope = 0.3 / 2 = 0.15.
    EXPECT_DOUBLE_EQ(least_squares_slope({6, 7, 8}, {0.5, 0.6, 0.8}), 0.15);
    std::vector<std::vector<double>> correct(3, std::vector<double>(10, 0.0));
    for (int i = 0; i < 5; ++i) {
        correct[0][i] = 1;
    }
    for (int i = 0; i < 6; ++i) {
        correct[1][i] = 1;
    }
    for (int i = 0; i < 8; ++i) {
        correct[2][i] = 1;
    }
    const auto s = replicated_scaling_slope({6, 7, 8}, {{correct[0]}, {correct[1]}, {correct[2]}}, 2000, 3);
    EXPECT_NEAR(s.slope, 0.15, 1e-12);
    EXPECT_LE(s.low, 0.15);
    EXPECT_GE(s.high, 0.15);
    EXPECT_GT(s.low, -0.1);
}

TEST(Statistics, MinimumDetectableEffectAndHolm) {
    // (1.95996 + 0.84162) * sqrt(2 * 0.5 * 0.5 / 2016) = 0.04412
    EXPECT_NEAR(minimum_detectable_effect(2016, 0.5), 0.04412, 5e-5);
    EXPECT_GT(minimum_detectable_effect(100, 1.0), 0.0);  // never 0 at 100%
    const auto adjusted = holm_adjust({0.01, 0.04, 0.03, 0.005});
    // sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    EXPECT_NEAR(adjusted[3], 0.02, 1e-12);
    EXPECT_NEAR(adjusted[0], 0.03, 1e-12);
    EXPECT_NEAR(adjusted[2], 0.06, 1e-12);
    EXPECT_NEAR(adjusted[1], 0.06, 1e-12);
}

}  // namespace
}  // namespace compeval
