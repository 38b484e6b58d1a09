// compeval's accuracy under llama-perplexity's normalization (mean log-prob
// per continuation token) must match llama.cpp's own multiple-choice scorer.
#include "data/perplexity_format.hpp"
#include "data/synthetic_items.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/multiple_choice.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace compeval {
namespace {

TEST(PerplexityAgreement, SameAccuracyAsLlamaPerplexityOn240Items) {
    const std::string perplexity = test::llama_perplexity_binary();
    if (perplexity.empty() || !std::filesystem::exists(perplexity)) {
        GTEST_SKIP() << "llama-perplexity not built with this llama.cpp";
    }
    const std::string model_file = test::model_path("small-f16");
    Model model(model_file);
    // llama-perplexity scores the tokens after the choices' common prefix; keep
    // items whose choices differ in their first token so both score the same
    // tokens.
    std::vector<McItem> items;
    for (const auto & item : synthetic_mc_items({300, 4, 12, 2, 0, 31})) {
        std::set<Token> first;
        for (const auto & r : mc_requests(item)) {
            const auto t = tokenize_request(model, r);
            first.insert(t.tokens[t.n_context]);
        }
        if (first.size() == item.choices.size()) {
            items.push_back(item);
        }
    }
    ASSERT_GE(items.size(), 240U);
    items.resize(240);

    EngineOptions options;
    LoglikelihoodEngine engine(model, options);
    const auto scores = score_mc_items(engine, items, "synthetic");

    const std::string dir = test::temp_dir("perplexity");
    write_perplexity_mc(items, dir + "/items.bin");
    const auto run = test::run_command(perplexity + " -m " + model_file + " --multiple-choice -f " + dir +
                                       "/items.bin -np 128 -c 16 -ctk f32 -ctv f32 -fa off -t 2 2>&1");
    ASSERT_EQ(run.exit_code, 0) << run.out;
    // Per-task lines "N<TAB>running accuracy x 100" give each item's correctness.
    std::regex line_re(R"(^(\d+)\t([0-9.]+)$)");
    std::vector<bool> theirs;
    std::istringstream lines(run.out);
    std::string line;
    double previous_correct = 0;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (std::regex_match(line, m, line_re)) {
            const double n = std::stod(m[1]);
            const double correct = std::round(std::stod(m[2]) * n / 100.0);
            theirs.push_back(correct > previous_correct);
            previous_correct = correct;
        }
    }
    ASSERT_EQ(theirs.size(), items.size()) << run.out.substr(0, 2000);

    size_t ours_correct = 0;
    size_t theirs_correct = 0;
    size_t near_ties = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        const bool ours = scores[i].pred_norm == items[i].gold;
        ours_correct += ours ? 1 : 0;
        theirs_correct += theirs[i] ? 1 : 0;
        std::vector<double> mean;
        for (const auto & c : scores[i].choices) {
            mean.push_back(c.logprob / c.n_tokens);
        }
        std::sort(mean.rbegin(), mean.rend());
        if (mean[0] - mean[1] <= 1e-3) {
            ++near_ties;
            continue;
        }
        EXPECT_EQ(ours, theirs[i]) << "item " << i;
    }
    std::printf("[ measured ] acc_norm compeval %zu/240, llama-perplexity %zu/240, near ties %zu\n", ours_correct,
                theirs_correct, near_ties);
    EXPECT_LE(static_cast<size_t>(std::abs(static_cast<long>(ours_correct) - static_cast<long>(theirs_correct))),
              near_ties);
}

}  // namespace
}  // namespace compeval
