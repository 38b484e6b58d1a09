// compeval's accuracy under llama-perplexity's normalization (mean log-prob
// per continuation token) must match llama.cpp's own multiple-choice scorer.
#include "data/perplexity_format.hpp"
#include "data/synthetic_items.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/multiple_choice.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
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
                                       "/items.bin -np 128 -c 16 -ctk f32 -ctv f32 -fa off -t 2");
    ASSERT_EQ(run.exit_code, 0) << run.out;
    // It scored every task (its summary goes to stderr).
    ASSERT_NE(run.err.find("Final result"), std::string::npos) << run.err;
    // Per-task lines "N<TAB>running accuracy x 100": task N was right when
    // the count of right answers grew from line N-1 to line N.
    std::regex line_re(R"(^(\d+)\t([0-9.]+)$)");
    std::map<size_t, size_t> right_after;  // task number -> right answers so far
    std::istringstream lines(run.out);
    for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        if (std::regex_match(line, m, line_re)) {
            const size_t n = std::stoul(m[1]);
            right_after[n] = static_cast<size_t>(std::lround(std::stod(m[2]) * static_cast<double>(n) / 100.0));
        }
    }
    right_after[0] = 0;
    // A task line missing from what was read (a sanitized CI run once read
    // 230 of the 240 lines, the cause not found; run_command now reads on
    // after a signal) leaves that task and the next undecided: they are
    // named and left out, the rest compared.
    std::vector<std::optional<bool>> theirs(items.size());
    std::string missing;
    for (size_t n = 1; n <= items.size(); ++n) {
        if (right_after.contains(n) && right_after.contains(n - 1)) {
            theirs[n - 1] = right_after[n] > right_after[n - 1];
        } else if (!right_after.contains(n)) {
            missing += " " + std::to_string(n);
        }
    }
    const auto decided =
        static_cast<size_t>(std::count_if(theirs.begin(), theirs.end(), [](const auto & t) { return t.has_value(); }));
    EXPECT_GE(decided, items.size() * 9 / 10) << "lines missing for tasks" << missing << "\n" << run.out;

    size_t ours_correct = 0;
    size_t theirs_correct = 0;
    size_t near_ties = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        if (!theirs[i]) {
            continue;
        }
        const bool ours = scores[i].pred_norm == items[i].gold;
        ours_correct += ours ? 1 : 0;
        theirs_correct += *theirs[i] ? 1 : 0;
        std::vector<double> mean;
        for (const auto & c : scores[i].choices) {
            mean.push_back(c.logprob / c.n_tokens);
        }
        std::sort(mean.rbegin(), mean.rend());
        if (mean[0] - mean[1] <= 1e-3) {
            ++near_ties;
            continue;
        }
        EXPECT_EQ(ours, *theirs[i]) << "item " << i;
    }
    std::printf("[ measured ] acc_norm compeval %zu/%zu, llama-perplexity %zu/%zu, near ties %zu%s\n", ours_correct,
                decided, theirs_correct, decided, near_ties,
                missing.empty() ? "" : (", no line from llama-perplexity for tasks" + missing).c_str());
    EXPECT_LE(static_cast<size_t>(std::abs(static_cast<long>(ours_correct) - static_cast<long>(theirs_correct))),
              near_ties);
}

}  // namespace
}  // namespace compeval
