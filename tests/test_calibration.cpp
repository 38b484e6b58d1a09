// Calibration and selective prediction against numbers worked out by hand on
// a toy sample, the threshold searches against brute force, and the report
// section on a run's samples.
#include "analysis/calibration.hpp"
#include "analysis/calibration_section.hpp"
#include "analysis/run_report.hpp"
#include "analysis/run_samples.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

namespace compeval {
namespace {

// Confidence, correct: bins 9 {0.9 right}, 8 {0.8 right, 0.8 wrong}, 6 {0.6 right}, 5 {0.55 wrong}.
std::vector<ConfidentAnswer> toy() {
    return {{0.9, true, 1}, {0.8, true, 1}, {0.8, false, 1}, {0.6, true, 1}, {0.55, false, 1}};
}

TEST(Calibration, EceAndBrierOfAToySampleByHand) {
    const auto bins = reliability_bins(toy());
    ASSERT_EQ(bins.size(), 10U);
    EXPECT_DOUBLE_EQ(bins[8].weight, 2);
    EXPECT_DOUBLE_EQ(bins[8].accuracy, 0.5);
    EXPECT_DOUBLE_EQ(bins[8].confidence, 0.8);
    EXPECT_DOUBLE_EQ(bins[5].accuracy, 0);
    EXPECT_DOUBLE_EQ(bins[0].weight, 0);
    // (1 x 0.1 + 2 x 0.3 + 1 x 0.4 + 1 x 0.55) / 5
    EXPECT_NEAR(expected_calibration_error(bins), 0.33, 1e-12);
    // (0.1^2 + 0.2^2 + 0.8^2 + 0.4^2 + 0.55^2) / 5
    EXPECT_NEAR(brier_score(toy()), 0.2305, 1e-12);
    // A confidence of exactly 1 is in the last bin; perfect answers score 0.
    const std::vector<ConfidentAnswer> sure = {{1.0, true, 1}, {1.0, true, 1}};
    EXPECT_DOUBLE_EQ(reliability_bins(sure)[9].weight, 2);
    EXPECT_DOUBLE_EQ(expected_calibration_error(reliability_bins(sure)), 0);
    EXPECT_DOUBLE_EQ(brier_score(sure), 0);
}

TEST(Calibration, RiskCoveragePointsAndThresholdsByHand) {
    const RiskCoverage rc(toy());
    const auto curve = rc.curve();
    // Nothing kept, then one point per distinct confidence (the two 0.8s are one).
    ASSERT_EQ(curve.size(), 5U);
    EXPECT_TRUE(std::isinf(curve[0].threshold));
    EXPECT_DOUBLE_EQ(curve[0].coverage, 0);
    EXPECT_DOUBLE_EQ(curve[0].review_share, 1);
    const double want[4][3] = {{0.9, 0.2, 0.0}, {0.8, 0.6, 1.0 / 3}, {0.6, 0.8, 0.25}, {0.55, 1.0, 0.4}};
    for (size_t i = 0; i < 4; ++i) {
        EXPECT_DOUBLE_EQ(curve[i + 1].threshold, want[i][0]) << i;
        EXPECT_NEAR(curve[i + 1].coverage, want[i][1], 1e-12) << i;
        EXPECT_NEAR(curve[i + 1].risk, want[i][2], 1e-12) << i;
    }
    EXPECT_DOUBLE_EQ(max_coverage_at_risk(curve, 0.01).threshold, 0.9);
    EXPECT_DOUBLE_EQ(max_coverage_at_risk(curve, 0.25).threshold, 0.6);  // exactly at the target counts
    EXPECT_DOUBLE_EQ(max_coverage_at_risk(curve, 0.2).coverage, 0.2);
    EXPECT_DOUBLE_EQ(max_coverage_at_risk(curve, 0.5).coverage, 1.0);
    // Review at 0.3 an item, an error let through costs 1: 0.3, 0.24, 0.32, 0.26, 0.4 per item.
    EXPECT_DOUBLE_EQ(least_cost(curve, 0.3).threshold, 0.9);
    EXPECT_NEAR(cost_per_item(least_cost(curve, 0.3), 0.3), 0.24, 1e-12);
    // Free review: only what costs nothing goes through alone (equal costs: the threshold that keeps more).
    EXPECT_DOUBLE_EQ(least_cost(curve, 0.0).threshold, 0.9);
    EXPECT_DOUBLE_EQ(cost_per_item(least_cost(curve, 0.0), 0.0), 0.0);
    EXPECT_DOUBLE_EQ(least_cost(curve, 5.0).coverage, 1.0);  // dear review: nothing is reviewed
    // The error at 0.8 is harmless (rework 0): keeping down to 0.6 now costs 0 + 0.2 x 0.3.
    auto cheap = toy();
    cheap[2].rework = 0;
    const auto cheap_curve = RiskCoverage(cheap).curve();
    EXPECT_DOUBLE_EQ(least_cost(cheap_curve, 0.3).threshold, 0.6);
    EXPECT_NEAR(cost_per_item(least_cost(cheap_curve, 0.3), 0.3), 0.06, 1e-12);
    EXPECT_NEAR(at_threshold(curve, 0.7).coverage, 0.6, 1e-12);  // keeps the 0.9 and both 0.8s
    EXPECT_NEAR(at_threshold(curve, 0.7).risk, 1.0 / 3, 1e-12);
    EXPECT_DOUBLE_EQ(at_threshold(curve, kKeepNothing).coverage, 0);
}

TEST(Calibration, WeightsAreMultiplicities) {
    auto doubled = toy();
    doubled.push_back(doubled[2]);  // the wrong 0.8 twice
    const std::vector<double> weights = {1, 1, 2, 1, 1};
    EXPECT_NEAR(brier_score(toy(), &weights), brier_score(doubled), 1e-12);
    EXPECT_NEAR(expected_calibration_error(reliability_bins(toy(), &weights)),
                expected_calibration_error(reliability_bins(doubled)), 1e-12);
    const RiskCoverage rc(toy());
    const auto sorted = rc.sorted_weights(weights);
    const auto a = rc.curve(&sorted);
    const auto b = RiskCoverage(doubled).curve();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        EXPECT_NEAR(a[i].coverage, b[i].coverage, 1e-12);
        EXPECT_NEAR(a[i].risk, b[i].risk, 1e-12);
    }
    const std::vector<double> two = {1, 2};
    EXPECT_THROW(brier_score(toy(), &two), Error);
}

// Every threshold tried by counting: the most answers kept within the target, and the least cost;
// and the bootstrap's one-pass summary against the measures taken one by one.
TEST(Calibration, ThresholdSearchesAgreeWithBruteForce) {
    std::mt19937_64 rng(7);
    for (int trial = 0; trial < 200; ++trial) {
        const size_t n = 1 + rng() % 60;
        std::vector<ConfidentAnswer> answers;
        std::vector<double> weights;
        for (size_t i = 0; i < n; ++i) {
            const double c = static_cast<double>(rng() % 21) / 20.0;  // ties on purpose
            const bool correct = static_cast<double>(rng() % 1000) / 1000.0 < c;
            answers.push_back({c, correct, static_cast<double>(rng() % 4)});
            weights.push_back(static_cast<double>(rng() % 3));
        }
        const double target = static_cast<double>(rng() % 30) / 100.0;
        const double review = static_cast<double>(rng() % 10) / 10.0;
        for (const bool weighted : {false, true}) {
            const auto w = [&](size_t i) { return weighted ? weights[i] : 1.0; };
            double total = 0;
            for (size_t i = 0; i < n; ++i) {
                total += w(i);
            }
            if (total == 0) {
                continue;
            }
            std::set<double> thresholds = {kKeepNothing};
            for (const auto & a : answers) {
                thresholds.insert(a.confidence);
            }
            double best_coverage = 0;
            double best_cost = review;
            for (const double t : thresholds) {
                double kept = 0;
                double errors = 0;
                double rework = 0;
                for (size_t i = 0; i < n; ++i) {
                    if (answers[i].confidence >= t) {
                        kept += w(i);
                        errors += answers[i].correct ? 0 : w(i);
                        rework += answers[i].correct ? 0 : w(i) * answers[i].rework;
                    }
                }
                if (kept > 0 && errors / kept <= target + 1e-12) {
                    best_coverage = std::max(best_coverage, kept / total);
                }
                best_cost = std::min(best_cost, (rework + (total - kept) * review) / total);
            }
            const RiskCoverage rc(answers);
            const auto sorted = rc.sorted_weights(weights);
            const auto curve = rc.curve(weighted ? &sorted : nullptr);
            const auto found = max_coverage_at_risk(curve, target);
            EXPECT_NEAR(found.coverage, best_coverage, 1e-12) << trial;
            EXPECT_LE(found.risk, target + 1e-12) << trial;
            EXPECT_NEAR(cost_per_item(least_cost(curve, review), review), best_cost, 1e-12) << trial;
            // The bootstrap's one-pass summary gives the same numbers as the functions one by one.
            const double threshold = answers[rng() % n].confidence;
            const auto one_pass = summarize(rc, weighted ? sorted : std::vector<double>(n, 1.0),
                                            {{target, 0.05}, review, {threshold, kKeepNothing}});
            const std::vector<double> original = weighted ? weights : std::vector<double>(n, 1.0);
            EXPECT_NEAR(one_pass.ece, expected_calibration_error(reliability_bins(answers, &original)), 1e-12);
            EXPECT_NEAR(one_pass.brier, brier_score(answers, &original), 1e-12);
            EXPECT_DOUBLE_EQ(one_pass.at_max_error[0].coverage, found.coverage);
            EXPECT_DOUBLE_EQ(one_pass.at_max_error[1].coverage, max_coverage_at_risk(curve, 0.05).coverage);
            EXPECT_DOUBLE_EQ(one_pass.least_cost.threshold, least_cost(curve, review).threshold);
            EXPECT_DOUBLE_EQ(one_pass.at_threshold[0].coverage, at_threshold(curve, threshold).coverage);
            EXPECT_DOUBLE_EQ(one_pass.at_threshold[0].risk, at_threshold(curve, threshold).risk);
            EXPECT_DOUBLE_EQ(one_pass.at_threshold[1].coverage, 0.0);
        }
    }
}

TEST(Calibration, AnswerConfidenceNormalizesOverTheChoices) {
    const std::vector<double> lp = {std::log(0.2) - 40, std::log(0.5) - 40, std::log(0.3) - 40};
    EXPECT_NEAR(answer_confidence(lp, 1), 0.5, 1e-12);
    EXPECT_NEAR(answer_confidence(lp, 2), 0.3, 1e-12);
    EXPECT_DOUBLE_EQ(answer_confidence(lp, -1), 0.0);  // no answer: never sure of it
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_DOUBLE_EQ(answer_confidence({-1.0, -inf}, 0), 1.0);
    EXPECT_TRUE(std::isnan(answer_confidence({-inf, -inf}, 0)));
    EXPECT_TRUE(std::isnan(answer_confidence(lp, 3)));  // beyond the choices (a pair comparison's "equal")
}

RunSample answer_sample(const std::string & model, const std::string & split, const std::string & id, double confidence,
                        bool correct) {
    RunSample s;
    s.model = model;
    s.task = "t";
    s.task_name = "t";
    s.route = "loglikelihood";
    s.split = split;
    s.id = id;
    s.confidence = confidence;
    s.correct = correct;
    s.gold_text = "fine";
    s.pred_text = correct ? "fine" : "defect";
    return s;
}

TEST(CalibrationSection, SeenThresholdTriedOnUnseenRecipesPooledAndGeneratedAnswersCounted) {
    std::vector<RunSample> samples;
    std::mt19937_64 rng(3);
    for (const std::string model : {"a-s1", "a-s2", "b"}) {
        for (int i = 0; i < 60; ++i) {
            // Seen: confident and right; unseen: just as confident, wrong a third of the time.
            samples.push_back(answer_sample(model, "seen", std::to_string(i), 0.9 + 0.001 * (i % 50), true));
            samples.push_back(answer_sample(model, "unseen", std::to_string(i), 0.9 + 0.001 * (i % 50), i % 3 != 0));
        }
        RunSample g = answer_sample(model, "unseen", "g", std::numeric_limits<double>::quiet_NaN(), true);
        g.route = "generate";
        g.task = "t:generate";
        samples.push_back(g);
    }
    CalibrationOptions options;
    options.iterations = 200;
    options.review_cost = 0.1;
    options.recipes = {{"a", {"a-s1", "a-s2"}}};
    const auto c = calibration_section(samples, options);
    EXPECT_EQ(c["tasks"].size(), 6U);  // 3 models x 2 splits
    ASSERT_EQ(c["seen_vs_unseen"].size(), 3U);
    for (const auto & r : c["seen_vs_unseen"]) {
        EXPECT_GT(r["ece_difference"]["low"].get<double>(), 0) << r.dump();
        EXPECT_EQ(r["verdict"].get<std::string>().rfind("worse calibrated on unseen combinations", 0), 0U);
    }
    // Units: recipe a (two seeds pooled) and b, each seen and unseen.
    ASSERT_EQ(c["models"].size(), 4U);
    EXPECT_EQ(c["models"][0]["model"], "a");
    EXPECT_EQ(c["models"][0]["answers"], 120);
    const auto & unseen = c["models"][1];
    EXPECT_EQ(unseen["split"], "unseen");
    // Seen answers are all right: its 1% threshold keeps everything, and on unseen lets a third through wrong.
    EXPECT_NEAR(unseen["seen_threshold"][0]["risk"]["estimate"].get<double>(), 1.0 / 3, 1e-12);
    EXPECT_DOUBLE_EQ(unseen["seen_threshold"][0]["coverage"]["estimate"].get<double>(), 1.0);
    // The cheapest threshold costs no more than reviewing everything (100 per 1k) or nothing (a third wrong).
    const auto & review = unseen["review"];
    const double cost = review["cost_per_1k"]["estimate"].get<double>();
    EXPECT_NEAR(cost, review["rework_per_1k"].get<double>() + 100.0 * review["review_share"].get<double>(), 1e-9);
    EXPECT_LE(cost, 100.0 + 1e-9);
    EXPECT_NEAR(review["all_alone_per_1k"].get<double>(), 1000.0 / 3, 1e-9);
    EXPECT_LT(review["review_share"].get<double>(), 1.0);  // the single surest answers are all right
    // One sentence per unit, and which is cheapest in rework and review.
    ASSERT_EQ(c["sentences"].size(), 3U);
    EXPECT_NE(c["sentences"][0].get<std::string>().find("the threshold set on seen combinations"), std::string::npos);
    EXPECT_EQ(c["sentences"][2].get<std::string>().rfind("Cheapest in rework and review at 0.1 per review: ", 0), 0U)
        << c["sentences"][2];
    ASSERT_EQ(c["without_confidence"].size(), 3U);
    EXPECT_EQ(c["without_confidence"][0]["route"], "generate");
    // The same inputs give the same section.
    EXPECT_EQ(calibration_section(samples, options).dump(), c.dump());

    // A second task is its own unit (thresholds are per task), named in the sentences.
    for (int i = 0; i < 30; ++i) {
        RunSample s = answer_sample("b", "all", std::to_string(i), 0.6 + 0.01 * i, i % 4 != 0);
        s.task = s.task_name = "t2";
        samples.push_back(s);
    }
    const auto two = calibration_section(samples, options);
    ASSERT_EQ(two["models"].size(), 5U);
    EXPECT_EQ(two["models"][4]["task"], "t2");
    EXPECT_EQ(two["models"][4]["split"], "all");  // t2 has no unseen combinations: all its answers
    std::set<std::string> starts;
    for (const auto & sentence : two["sentences"]) {
        const auto text = sentence.get<std::string>();
        starts.insert(text.substr(0, text.find(':')));
    }
    EXPECT_EQ(starts, (std::set<std::string>{"a on t", "b on t", "b on t2", "On t"})) << two["sentences"].dump(1);
}

// A target error rate outside (0, 1) is refused by name, by the CLI and the library.
TEST(CalibrationSection, TargetErrorRatesOutsideZeroToOneAreRefused) {
    const std::string dir = test::temp_dir("max-error");
    for (const char * bad : {"1.5", "0", "-0.1", "0.01,2"}) {
        const auto refused = test::run_command(test::compeval_binary() + " report " + dir + " --max-error " + bad);
        EXPECT_NE(refused.exit_code, 0) << bad;
        EXPECT_NE(refused.err.find("--max-error"), std::string::npos) << bad << ": " << refused.err;
    }
    const auto negative = test::run_command(test::compeval_binary() + " report " + dir + " --review-cost -1");
    EXPECT_NE(negative.exit_code, 0);
    EXPECT_NE(negative.err.find("--review-cost"), std::string::npos) << negative.err;
    ReportOptions options;
    options.max_errors = {};
    EXPECT_THROW(build_report(dir, options), Error);
    options.max_errors = {0.01, 1.0};
    EXPECT_THROW(build_report(dir, options), Error);
}

}  // namespace
}  // namespace compeval
