// Cost, the Pareto frontier, the recommendation's three criteria, and the
// second question's permutation test, against hand-worked cases.
#include "analysis/ability_correlation.hpp"
#include "analysis/cost_analysis.hpp"

#include <gtest/gtest.h>

namespace compeval {
namespace {

TEST(ParetoFrontier, KeepsOnlyUndominatedModels) {
    // (accuracy, cost): b is beaten by a on both; d ties a on accuracy at a
    // higher cost; c is the most accurate; e the cheapest.
    const std::vector<double> accuracy = {0.70, 0.65, 0.80, 0.70, 0.50};
    const std::vector<double> cost = {10, 12, 30, 15, 2};
    EXPECT_EQ(pareto_frontier(accuracy, cost), (std::vector<size_t>{0, 2, 4}));
}

TEST(SpearmanPermutation, ExactPValuesForSmallN) {
    // Perfect rank agreement: only the identity and the reversal reach |rho| = 1.
    EXPECT_NEAR(spearman_permutation_p({1, 2, 3}, {10, 20, 30}), 2.0 / 6.0, 1e-12);
    EXPECT_NEAR(spearman_permutation_p({1, 2, 3, 4}, {4, 3, 2, 1}), 2.0 / 24.0, 1e-12);
    // rho = 0.8 on n = 4: |rho| >= 0.8 in 8 of the 24 orders (rho = +1 and -1
    // once each, +0.8 and -0.8 three times each).
    EXPECT_NEAR(spearman_permutation_p({1, 2, 3, 4}, {1, 3, 2, 4}), 8.0 / 24.0, 1e-12);
    EXPECT_TRUE(std::isnan(spearman_permutation_p({1, 2}, {1, 2})));
    const auto rows = ability_correlation({{"a", 0.5}, {"b", 0.6}}, {{"auc", {{"a", 0.7}, {"b", 0.8}}}});
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_EQ(rows[0]["n_models"], 2);
    EXPECT_TRUE(rows[0]["p"].is_null());
    EXPECT_NE(rows[0]["verdict"].get<std::string>().find("too few models"), std::string::npos);
}

nlohmann::json cost_model(const std::string & name, double seconds, double measured, double unique) {
    return {{"model", name},
            {"family", "f"},
            {"n_params", 1e6},
            {"file_bytes", 1e6},
            {"load_seconds", 0.1},
            {"peak_rss_bytes", 1e8},
            {"tasks",
             {{{"task", "t"},
               {"items", 100},
               {"unique_requests", unique},
               {"measured_requests", measured},
               {"seconds", seconds},
               {"tokens_decoded", 5000}}}}};
}

std::vector<double> items(int right, int n) {
    std::vector<double> v(static_cast<size_t>(n), 0.0);
    std::fill(v.begin(), v.begin() + right, 1.0);
    return v;
}

TEST(CostSection, RatesExtrapolateToTheWholeTaskAndPriceTheMachineHour) {
    // Half the requests measured in 2 s: the task's 400 requests take 4 s for 100 items.
    const nlohmann::json cost = {{"models", {cost_model("a", 2.0, 200, 400)}}};
    std::map<std::string, ModelScores> scores;
    scores["a"] = {items(90, 100), items(90, 100), 0.5, "base", "f"};
    const auto s = cost_section(cost, scores, nlohmann::json::array(), {3.6, 200, 1});
    const auto & m = s["models"][0];
    EXPECT_DOUBLE_EQ(m["items_per_s"].get<double>(), 25.0);
    EXPECT_DOUBLE_EQ(m["latency_ms_per_item"].get<double>(), 40.0);
    EXPECT_DOUBLE_EQ(m["tokens_per_s"].get<double>(), 2500.0);
    EXPECT_DOUBLE_EQ(m["seconds_per_1k_items"].get<double>(), 40.0);
    EXPECT_DOUBLE_EQ(m["cost_per_1k_items"].get<double>(), 40.0 / 3600.0 * 3.6);
    EXPECT_EQ(s["unit"], "price per 1k items");
}

TEST(CostSection, RecommendsTheCheapestModelNotDetectablyWorseOnUnseenCombinations) {
    // big is best; mid is within big's interval at a third of the cost; small is detectably worse.
    const nlohmann::json cost = {
        {"models",
         {cost_model("big", 9.0, 400, 400), cost_model("mid", 3.0, 400, 400), cost_model("small", 1.0, 400, 400)}}};
    std::map<std::string, ModelScores> scores;
    scores["big"] = {items(85, 100), items(85, 100), 0.5, "base", "f"};
    scores["mid"] = {items(82, 100), items(82, 100), 0.5, "base", "f"};
    scores["small"] = {items(55, 100), items(55, 100), 0.5, "base", "f"};
    const nlohmann::json hurt = {{{"comparison", "instruction tuning"},
                                  {"a", "mid-it"},
                                  {"b", "mid"},
                                  {"task", "t"},
                                  {"effect", -0.2},
                                  {"low", -0.3},
                                  {"high", -0.1},
                                  {"p_holm", 0.001}}};
    const auto s = cost_section(cost, scores, hurt, {0, 500, 1});
    const auto & rec = s["recommendation"];
    EXPECT_EQ(rec["model"], "mid");
    EXPECT_EQ(rec["contenders"], (nlohmann::json{"big", "mid"}));
    EXPECT_EQ(s["pareto"], (nlohmann::json{"big", "mid", "small"}));
    const std::string reasons = rec["reasons"].dump();
    EXPECT_NE(reasons.find("Instruction tuning detectably hurt: mid-it on t"), std::string::npos) << reasons;

    // The same models at the baseline: nothing is recommended.
    for (auto & [name, sc] : scores) {
        sc.baseline = 0.9;
    }
    const auto none = cost_section(cost, scores, nlohmann::json::array(), {0, 500, 1});
    EXPECT_TRUE(none["recommendation"]["model"].is_null());
    EXPECT_NE(none["recommendation"]["reasons"].dump().find("majority-answer baseline"), std::string::npos);
}

TEST(CostSection, ARecipeIsWeighedOverItsSeedsNotItsLuckiestOne) {
    // "lucky" has one seed at 95/100 and one at 55/100; "steady" is 80/100
    // with both; "poor" is 50/100 with both and the cheapest. Alone, lucky-1
    // is the best model. As recipes, steady is the best (0.80 vs 0.75); lucky
    // stays a contender (two seeds that disagree this much cannot show it is
    // worse) and costs less; poor is detectably worse whatever its price.
    const nlohmann::json cost = {{"models",
                                  {cost_model("lucky-1", 2.0, 400, 400), cost_model("lucky-2", 2.0, 400, 400),
                                   cost_model("steady-1", 4.0, 400, 400), cost_model("steady-2", 6.0, 400, 400),
                                   cost_model("poor-1", 0.5, 400, 400), cost_model("poor-2", 0.5, 400, 400)}}};
    std::map<std::string, ModelScores> scores;
    scores["lucky-1"] = {items(95, 100), items(95, 100), 0.3, "base", "f"};
    scores["lucky-2"] = {items(55, 100), items(55, 100), 0.3, "base", "f"};
    scores["steady-1"] = {items(80, 100), items(80, 100), 0.3, "base", "f"};
    scores["steady-2"] = {items(80, 100), items(80, 100), 0.3, "base", "f"};
    scores["poor-1"] = {items(50, 100), items(50, 100), 0.3, "base", "f"};
    scores["poor-2"] = {items(50, 100), items(50, 100), 0.3, "base", "f"};
    const auto alone = cost_section(cost, scores, nlohmann::json::array(), {0, 500, 1});
    EXPECT_NE(alone["recommendation"]["reasons"].dump().find("the highest compositional accuracy is lucky-1's"),
              std::string::npos);
    CostOptions pooled{
        0,
        500,
        1,
        {{"lucky", {"lucky-1", "lucky-2"}}, {"steady", {"steady-1", "steady-2"}}, {"poor", {"poor-1", "poor-2"}}}};
    const auto s = cost_section(cost, scores, nlohmann::json::array(), pooled);
    const auto & rec = s["recommendation"];
    const std::string reasons = rec["reasons"].dump();
    EXPECT_NE(reasons.find("the highest compositional accuracy is steady's, 0.800"), std::string::npos) << reasons;
    EXPECT_EQ(rec["contenders"], (nlohmann::json{"lucky", "steady"}));
    EXPECT_EQ(rec["model"], "lucky");
    EXPECT_NE(reasons.find("lucky at 20 machine-seconds"), std::string::npos) << reasons;  // both seeds 20
}

TEST(CostSection, ReusedRequestsLeaveCostUnmeasuredNotZero) {
    const nlohmann::json cost = {{"models", {cost_model("a", 0.0, 0, 400)}}};
    std::map<std::string, ModelScores> scores;
    scores["a"] = {items(90, 100), items(90, 100), 0.5, "base", "f"};
    const auto s = cost_section(cost, scores, nlohmann::json::array(), {});
    EXPECT_FALSE(s["models"][0]["measured"].get<bool>());
    EXPECT_FALSE(s["models"][0].contains("items_per_s"));
    EXPECT_NE(s["recommendation"]["reasons"].dump().find("not measured"), std::string::npos);
}

}  // namespace
}  // namespace compeval
