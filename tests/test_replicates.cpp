// Recipes trained with several seeds: the two-level bootstrap (seeds and
// items), its reduction to the item bootstrap with one seed, and the findings
// and recipe table built on it.
#include "analysis/findings.hpp"
#include "analysis/replicate_statistics.hpp"
#include "analysis/statistics.hpp"

#include <gtest/gtest.h>

#include <random>

namespace compeval {
namespace {

std::vector<double> coin_flips(size_t n, double p, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::bernoulli_distribution flip(p);
    std::vector<double> out(n);
    for (auto & v : out) {
        v = flip(rng) ? 1.0 : 0.0;
    }
    return out;
}

TEST(ReplicateStatistics, OneSeedIsTheItemBootstrap) {
    const auto a = coin_flips(150, 0.7, 1);
    const auto b = coin_flips(150, 0.5, 2);
    const auto c = coin_flips(150, 0.6, 3);
    const auto item = bootstrap_mean(a, 500, 7);
    const auto replicated = replicated_mean_interval({a}, 500, 7);
    EXPECT_EQ(replicated.estimate, item.estimate);
    EXPECT_EQ(replicated.low, item.low);
    EXPECT_EQ(replicated.high, item.high);

    const auto paired = paired_bootstrap_difference(a, b, 500, 7);
    const auto diff = replicated_difference({a}, {b}, true, 500, 7);
    EXPECT_EQ(diff.estimate, paired.estimate);
    EXPECT_EQ(diff.low, paired.low);
    EXPECT_EQ(diff.high, paired.high);

    // The slope: one item resample per draw, shared by every recipe.
    const std::vector<double> x = {4.0, 5.0, 6.0};
    const auto slope = replicated_scaling_slope(x, {{a}, {b}, {c}}, 500, 7);
    EXPECT_DOUBLE_EQ(slope.slope,
                     least_squares_slope(x, {replicated_mean({a}), replicated_mean({b}), replicated_mean({c})}));
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<size_t> pick(0, a.size() - 1);
    std::vector<double> draws;
    for (int it = 0; it < 500; ++it) {
        std::vector<double> sums(3, 0.0);
        for (size_t i = 0; i < a.size(); ++i) {
            const size_t k = pick(rng);
            sums[0] += a[k];
            sums[1] += b[k];
            sums[2] += c[k];
        }
        for (auto & v : sums) {
            v /= static_cast<double>(a.size());
        }
        draws.push_back(least_squares_slope(x, sums));
    }
    const auto expected = percentile_interval(draws, slope.slope, 500, 7, 0.95);
    EXPECT_NEAR(slope.low, expected.low, 1e-12);
    EXPECT_NEAR(slope.high, expected.high, 1e-12);
    EXPECT_EQ(slope.p_value, bootstrap_two_sided_p(draws));
}

TEST(ReplicateStatistics, SeedSpreadWidensTheInterval) {
    // Two seeds that agree with themselves on every item but not with each
    // other: resampling items alone gives zero width, the seeds span [0, 1].
    const std::vector<double> all_right(100, 1.0);
    const std::vector<double> all_wrong(100, 0.0);
    const auto one = replicated_mean_interval({all_right}, 2000, 1);
    EXPECT_EQ(one.low, 1.0);
    EXPECT_EQ(one.high, 1.0);
    const auto two = replicated_mean_interval({all_right, all_wrong}, 2000, 1);
    EXPECT_DOUBLE_EQ(two.estimate, 0.5);
    EXPECT_EQ(two.low, 0.0);  // both draws the wrong seed: probability 1/4
    EXPECT_EQ(two.high, 1.0);
    EXPECT_DOUBLE_EQ(replicated_mean({all_right, all_wrong}), 0.5);
}

TEST(ReplicateStatistics, PairedSeedsCancelTheirSpread) {
    // Each tuned seed is its base seed plus 0.1 on every item; the bases differ a lot.
    const std::vector<double> base_low(50, 0.2);
    const std::vector<double> base_high(50, 0.8);
    const std::vector<double> tuned_low(50, 0.3);
    const std::vector<double> tuned_high(50, 0.9);
    const auto paired = replicated_difference({tuned_low, tuned_high}, {base_low, base_high}, true, 2000, 3);
    EXPECT_NEAR(paired.estimate, 0.1, 1e-12);
    EXPECT_NEAR(paired.low, 0.1, 1e-12);
    EXPECT_NEAR(paired.high, 0.1, 1e-12);
    EXPECT_EQ(paired.p_value, 0.0);
    const auto unpaired = replicated_difference({tuned_low, tuned_high}, {base_low, base_high}, false, 2000, 3);
    EXPECT_NEAR(unpaired.estimate, 0.1, 1e-12);
    EXPECT_LT(unpaired.low, 0.0);
    EXPECT_GT(unpaired.high, 0.2);
    EXPECT_GT(unpaired.p_value, 0.05);
    EXPECT_THROW(replicated_difference({tuned_low}, {base_low, base_high}, true), std::exception);
}

TEST(ReplicateStatistics, SlopeIntervalCarriesSeedSpread) {
    const auto steady = coin_flips(200, 0.5, 5);
    const std::vector<double> x = {0.0, 1.0};
    const auto calm =
        replicated_scaling_slope(x, {{steady, steady}, {coin_flips(200, 0.6, 6), coin_flips(200, 0.6, 6)}}, 1000, 2);
    const auto noisy =
        replicated_scaling_slope(x, {{steady, steady}, {coin_flips(200, 0.2, 7), coin_flips(200, 1.0, 8)}}, 1000, 2);
    EXPECT_GT(noisy.high - noisy.low, 2.0 * (calm.high - calm.low));
}

// scores[model] on one task: `seen` then `unseen` items, each a 0/1 pattern.
ModelTaskScores task_scores(const std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> & in) {
    ModelTaskScores out;
    for (const auto & [model, splits] : in) {
        auto & items = out[{model, "t"}];
        for (size_t i = 0; i < splits.first.size(); ++i) {
            items["seen\x1f" + std::to_string(i)] = splits.first[i];
        }
        for (size_t i = 0; i < splits.second.size(); ++i) {
            items["unseen\x1f" + std::to_string(i)] = splits.second[i];
        }
    }
    return out;
}

TEST(Findings, RecipesPoolSeedsAndUnseenItemsGetTheirOwnRows) {
    std::map<std::string, ReportModel> models;
    auto add = [&](const std::string & name, const std::string & group, const std::string & size,
                   const std::string & variant, int64_t seed,
                   double params) { models[name] = {"lab", size, variant, group, seed, params}; };
    add("s-1", "s", "s", "base", 1, 1e4);
    add("s-2", "s", "s", "base", 2, 1e4);
    add("m-1", "m", "m", "base", 1, 1e5);
    add("m-2", "m", "m", "base", 2, 1e5);
    add("l-1", "l", "l", "base", 1, 1e6);
    add("l-2", "l", "l", "base", 2, 1e6);
    add("s-it-1", "s-it", "s", "instruct", 1, 1e4);
    add("s-it-2", "s-it", "s", "instruct", 2, 1e4);
    const std::vector<double> seen(20, 1.0);
    auto unseen = [](int right) {
        std::vector<double> v(20, 0.0);
        std::fill(v.begin(), v.begin() + right, 1.0);
        return v;
    };
    const auto scores = task_scores({{"s-1", {seen, unseen(8)}},
                                     {"s-2", {seen, unseen(12)}},
                                     {"m-1", {seen, unseen(14)}},
                                     {"m-2", {seen, unseen(14)}},
                                     {"l-1", {seen, unseen(18)}},
                                     {"l-2", {seen, unseen(16)}},
                                     {"s-it-1", {seen, unseen(6)}},
                                     {"s-it-2", {seen, unseen(10)}}});
    const auto findings = compute_findings(models, scores, 1000, 1);
    ASSERT_EQ(findings.size(), 6U);  // (tuning, slope, largest vs smallest) x (all items, unseen)
    std::map<std::string, nlohmann::json> unseen_rows;
    for (const auto & f : findings) {
        EXPECT_EQ(f["seeds_a"], 2);
        EXPECT_EQ(f["seeds_b"], 2);
        EXPECT_EQ(f["n"], f["split"] == "unseen" ? 20 : 40);
        if (f["split"] == "unseen") {
            unseen_rows[f["comparison"]] = f;
        }
    }
    ASSERT_EQ(unseen_rows.size(), 3U);
    const auto & tuning = unseen_rows["instruction tuning"];
    EXPECT_EQ(tuning["a"], "s-it");
    EXPECT_EQ(tuning["b"], "s");
    EXPECT_NEAR(tuning["effect"].get<double>(), (0.3 + 0.5) / 2 - (0.4 + 0.6) / 2, 1e-12);
    // Each tuned seed lost exactly 2 items against its own base seed and won
    // none: paired, no draw can show a gain, though the seeds' levels differ.
    EXPECT_LE(tuning["high"].get<double>(), 0.0);
    EXPECT_LT(tuning["low"].get<double>(), 0.0);
    const auto & ends = unseen_rows["scale (largest vs smallest)"];
    EXPECT_EQ(ends["a"], "l");
    EXPECT_EQ(ends["b"], "s");
    EXPECT_NEAR(ends["effect"].get<double>(), 0.85 - 0.5, 1e-12);
    const auto & slope = unseen_rows["scale"];
    EXPECT_NEAR(slope["effect"].get<double>(), (0.85 - 0.5) / 2, 1e-12);  // through 0.5, 0.7, 0.85 at x = 4, 5, 6
    for (const auto & f : findings) {
        EXPECT_FALSE(f["verdict"].get<std::string>().empty());
        EXPECT_GE(f["p_holm"].get<double>(), f["p"].get<double>());
    }

    const auto table = recipe_table(models, scores, 1000, 1);
    ASSERT_EQ(table.size(), 8U);  // 4 recipes x 2 splits
    for (const auto & row : table) {
        if (row["recipe"] == "s" && row["split"] == "unseen") {
            EXPECT_EQ(row["per_seed"], nlohmann::json({0.4, 0.6}));
            EXPECT_NEAR(row["accuracy"]["estimate"].get<double>(), 0.5, 1e-12);
            EXPECT_EQ(row["models"], nlohmann::json({"s-1", "s-2"}));
            EXPECT_EQ(row["seeds"], nlohmann::json({1, 2}));
        }
    }

    // Without groups every model is its own recipe: no table, findings name models.
    for (auto & [name, m] : models) {
        m.group.clear();
    }
    EXPECT_TRUE(recipe_table(models, scores, 100, 1).empty());
    const auto single = compute_findings(models, scores, 100, 1);
    for (const auto & f : single) {
        EXPECT_EQ(f["seeds_a"], 1);
    }
}

}  // namespace
}  // namespace compeval
