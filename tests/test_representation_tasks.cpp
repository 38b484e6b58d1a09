#include "analysis/rank_statistics.hpp"
#include "tasks/representation_task.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

namespace compeval {
namespace {

TEST(RankStatistics, AucAgainstHandCounts) {
    EXPECT_DOUBLE_EQ(roc_auc({3, 4}, {1, 2}), 1.0);
    EXPECT_DOUBLE_EQ(roc_auc({1, 2}, {3, 4}), 0.0);
    // pairs: (2,1) win, (2,2) tie, (2,3) loss, (5,*) 3 wins -> 4.5 / 6
    EXPECT_DOUBLE_EQ(roc_auc({2, 5}, {1, 2, 3}), 4.5 / 6.0);
    EXPECT_TRUE(std::isnan(roc_auc({}, {1})));
}

TEST(RankStatistics, SpearmanWithTiesAgainstAHandFit) {
    EXPECT_EQ(average_ranks({5, 6, 7, 8, 7}), (std::vector<double>{1, 2, 3.5, 5, 3.5}));
    // Pearson of ranks [1..5] and [1, 2, 3.5, 5, 3.5], computed by hand.
    EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-12);
    EXPECT_DOUBLE_EQ(spearman({1, 2, 3}, {30, 20, 10}), -1.0);
    EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
    EXPECT_NEAR(cosine({1, 0}, {1, 1}), 1 / std::sqrt(2.0), 1e-12);
}

TEST(RepresentationTasks, CompcombPerLayerOnTheSharedCompounds) {
    if (!std::filesystem::exists(test::shared_data_dir() + "/noun-compounds/reddy2011.csv")) {
        GTEST_SKIP() << "shared data not found at " << test::shared_data_dir() << " (COMPCOMB test skipped)";
    }
    const auto spec = load_representation_spec(test::source_dir() + "/tasks/compcomb.yaml", test::shared_data_dir());
    Model model(test::model_path("tiny-f32"));
    const auto result = run_representation_task(model, spec);
    ASSERT_EQ(result.layers.size(), static_cast<size_t>(model.facts().n_layer + 1));
    // Layer 0 is context-free: a compound's last token is its head noun's last
    // token, so every cosine is 1, the AUC is exactly 0.5 and rho is undefined.
    EXPECT_DOUBLE_EQ(result.layers[0].values.at("auc_farahmand"), 0.5);
    EXPECT_NEAR(result.layers[0].values.at("mean_cos_compositional"), 1.0, 1e-6);
    EXPECT_TRUE(std::isnan(result.layers[0].values.at("spearman_reddy")));
    // 1,042 judged compounds less the 2-2 ties.
    EXPECT_GT(result.layers[0].n, 900U);
    EXPECT_LT(result.layers[0].n, 1042U);
    for (size_t l = 1; l < result.layers.size(); ++l) {
        const auto & v = result.layers[l].values;
        EXPECT_LT(v.at("mean_cos_compositional"), 1.0 - 1e-4);  // context now mixes in
        EXPECT_GE(v.at("auc_farahmand"), 0.0);
        EXPECT_LE(v.at("auc_farahmand"), 1.0);
        EXPECT_FALSE(std::isnan(v.at("spearman_reddy")));
    }
}

TEST(RepresentationTasks, CompositionFitRecoversTheIdentityAtTheEmbeddingLayer) {
    if (!std::filesystem::exists(test::shared_data_dir() + "/plane/ood/OOV_test_1.tsv")) {
        GTEST_SKIP() << "shared data not found at " << test::shared_data_dir() << " (composition test skipped)";
    }
    auto spec = load_representation_spec(test::source_dir() + "/tasks/composition-fit.yaml", test::shared_data_dir());
    spec.max_phrases = 120;
    Model model(test::model_path("tiny-f32"));
    const auto result = run_representation_task(model, spec);
    // At layer 0 the phrase's last-token state is the noun's embedding: ridge
    // learns a near-identity on the noun half (from 90 phrases in 128
    // dimensions, so only in their span) and ranks every held-out phrase first.
    const auto & l0 = result.layers[0].values;
    EXPECT_GT(l0.at("cos_ridge"), 0.85);
    EXPECT_DOUBLE_EQ(l0.at("rank_ridge"), 1.0);
    EXPECT_LT(l0.at("cos_additive"), l0.at("cos_ridge"));
    EXPECT_EQ(result.layers[0].n, 30U);
}

TEST(RepresentationTasks, MalformedSpecsNameTheField) {
    const auto dir = test::temp_dir("repr-bad");
    std::ofstream(dir + "/t.yaml") << "name: x\nkind: compound_similarity\ncarrier: \"no placeholder\"\ndata: {}\n";
    try {
        load_representation_spec(dir + "/t.yaml", ".");
        FAIL();
    } catch (const Error & e) {
        EXPECT_EQ(std::string(e.what()), dir + "/t.yaml:3: field 'carrier' must contain {{phrase}}");
    }
}

}  // namespace
}  // namespace compeval
