// The report end to end: a real run (three generated models, a label task, the
// example domain's seen/unseen split and a per-layer task) -> report files ->
// the HTML opened in headless Chromium (tests/browser/check_report.mjs over the
// DevTools protocol). Every chart must draw, the console stay clean, the
// explorer's filters match counts computed here, and the HTML, Markdown and
// JSON show the same numbers. The screenshot is kept as a test artifact.
#include "report/report_files.hpp"
#include "runs/suite_runner.hpp"
#include "util/error.hpp"
#include "report_test_run.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/core.h>

#include <filesystem>
#include <fstream>

namespace compeval {
namespace {

TEST(ReportHtml, ChromiumDrawsEveryChartAndTheNumbersAgreeWithMarkdownAndJson) {
    const char * chromium = std::getenv("CHROMIUM") != nullptr ? std::getenv("CHROMIUM") : "/usr/bin/chromium";
    if (!std::filesystem::exists(chromium) || test::run_command("node --version").exit_code != 0) {
        GTEST_SKIP() << "needs Chromium (" << chromium << ") and Node.js; scripts/test.sh installs both";
    }
    const std::string dir = test::temp_dir("report-html");
    const SuiteSpec suite = load_suite_spec(test::write_report_suite(dir));
    ResultsStore store(dir + "/results.sqlite");
    export_suite_results(run_suite(suite, store, {}), dir + "/run");
    const auto files = write_report_files(dir + "/run", {}, "2026-01-01T00-00-00.000000");
    const nlohmann::json & json = files.report.data;

    // Explorer filters, and the counts they must give, from the report's samples.
    const auto & samples = files.report.samples;
    const nlohmann::json filters = {{{"task", "toy"}},
                                    {{"task", "factory-defects"}, {"correct", "false"}},
                                    {{"class", "kind=k1"}, {"correct", "true"}},
                                    nlohmann::json::object()};
    std::ofstream(dir + "/filters.json") << filters.dump();
    const std::string artifact_dir = test::tmp_dir() + "/../test-artifacts";
    std::filesystem::create_directories(artifact_dir);
    const std::string shot = artifact_dir + "/report-screenshot.png";
    std::filesystem::remove(shot);
    const auto check = test::run_command("NODE_PATH=" + test::node_modules() + " CHROMIUM=" + std::string(chromium) +
                                         " node " + test::source_dir() + "/tests/browser/check_report.mjs " + dir +
                                         "/run/report.html " + shot + " " + dir + "/filters.json");
    ASSERT_EQ(check.exit_code, 0) << check.err;
    const auto page = nlohmann::json::parse(check.out);

    EXPECT_TRUE(page["ready"].get<bool>());
    EXPECT_TRUE(page["consoleErrors"].empty()) << page["consoleErrors"].dump(1);
    ASSERT_EQ(page["charts"].size(), 9U);
    for (const auto & c : page["charts"]) {
        EXPECT_FALSE(c["empty"].get<bool>()) << c["id"];
        EXPECT_EQ(c["svg"].get<int>(), 1) << c["id"];
        EXPECT_GT(c["marks"].get<int>(), 2) << c["id"];
    }

    // The explorer's first rows (no filter) are the first samples, every cell
    // decoded from the page's string table; report.json leaves the samples to
    // samples.jsonl.
    const auto & rows = page["tables"]["samples-table"];
    ASSERT_EQ(rows.size(), std::min<size_t>(samples.size(), 200));
    for (size_t i = 0; i < rows.size(); i += 37) {
        const auto & s = samples[i];
        std::string fields;
        for (const auto & [key, value] : s.fields) {
            fields += (fields.empty() ? "" : " ") + key + "=" + value;
        }
        EXPECT_EQ(rows[i], nlohmann::json({s.model, s.task, s.split, s.id, s.variant, s.gold_text, s.pred_text,
                                           s.correct ? "yes" : "no", fields}))
            << i;
    }
    EXPECT_FALSE(nlohmann::json::parse(test::read_file(dir + "/run/report.json")).contains("samples"));
    EXPECT_GT(page["timing"]["interactive_ms"].get<int>(), 0);
    EXPECT_EQ(page["timing"]["filter_ms"].size(), 8U);  // the filter changes below (a value already set is no change)

    ASSERT_EQ(page["explorer"].size(), filters.size());
    for (size_t f = 0; f < filters.size(); ++f) {
        size_t expected = 0;
        for (const auto & s : samples) {
            const auto & want = filters[f];
            bool match = !want.contains("task") || s.task == want["task"];
            if (want.contains("correct")) {
                match = match && s.correct == (want["correct"] == "true");
            }
            if (want.contains("class")) {
                const auto kind = s.fields.find("kind");
                match = match && kind != s.fields.end() && kind->second == "k1";
            }
            expected += match ? 1 : 0;
        }
        const auto & got = page["explorer"][f];
        EXPECT_TRUE(got["applied"].get<bool>()) << filters[f];
        EXPECT_EQ(got["matches"].get<size_t>(), expected) << filters[f];
        EXPECT_EQ(got["rows"].get<size_t>(), std::min<size_t>(expected, 200)) << filters[f];
        EXPECT_GT(expected, 0U) << filters[f];
    }

    // The same numbers in all three: findings (one instruction-tuning and one
    // scale row per task), accuracy, cost.
    const auto & tables = page["tables"];
    const auto md_findings = test::markdown_table(files.markdown, "## Findings");
    ASSERT_EQ(json["findings"].size(), 9U);  // 3 comparisons x (toy; factory over all items and unseen ones)
    ASSERT_EQ(tables["findings-table"].size(), json["findings"].size());
    ASSERT_EQ(md_findings.size(), json["findings"].size());
    for (size_t i = 0; i < md_findings.size(); ++i) {
        const auto & f = json["findings"][i];
        const auto & html = tables["findings-table"][i];
        const std::string effect = fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", f["effect"].get<double>(),
                                               f["low"].get<double>(), f["high"].get<double>());
        EXPECT_EQ(html[2], f["split"].get<std::string>());
        EXPECT_EQ(md_findings[i][2], html[2]);
        EXPECT_EQ(html[6], effect);
        EXPECT_EQ(md_findings[i][6], effect);
        EXPECT_EQ(html[7], fmt::format("{:.3f}", f["p_holm"].get<double>()));
        EXPECT_EQ(md_findings[i][7], html[7]);
        EXPECT_EQ(html[8], f["verdict"].get<std::string>());
        EXPECT_EQ(md_findings[i][8], html[8]);
        EXPECT_EQ(html[9], f["comparison"] == "quantization" ? "Q8_0" : "as given");
        EXPECT_EQ(md_findings[i][10], html[10]);
        EXPECT_EQ(html[10] != "-", f["comparison"] == "quantization");
    }
    // Quantization drift: per task, all answers and each split, the same cells in HTML and Markdown.
    const auto md_quantization = test::markdown_table(files.markdown, "## Quantization");
    ASSERT_EQ(json["quantization"].size(), 4U);  // toy (its one split, "all"), factory (all, seen, unseen)
    ASSERT_EQ(tables["quantization-table"].size(), md_quantization.size());
    for (size_t i = 0; i < md_quantization.size(); ++i) {
        for (size_t c = 0; c < 13; ++c) {
            EXPECT_EQ(tables["quantization-table"][i][c].get<std::string>(), md_quantization[i][c]) << i << "," << c;
        }
    }
    const auto md_accuracy = test::markdown_table(files.markdown, "## Accuracy");
    std::vector<std::vector<std::string>> md_accuracy_rows;
    for (const auto & row : md_accuracy) {
        if (row[2] != "seen - unseen gap") {
            md_accuracy_rows.push_back(row);
        }
    }
    ASSERT_EQ(tables["accuracy-table"].size(), md_accuracy_rows.size());
    for (size_t i = 0; i < md_accuracy_rows.size(); ++i) {
        for (size_t c = 0; c < 6; ++c) {
            EXPECT_EQ(tables["accuracy-table"][i][c].get<std::string>(), md_accuracy_rows[i][c]) << i << "," << c;
        }
    }
    const auto md_cost = test::markdown_table(files.markdown, "## Cost");
    ASSERT_EQ(tables["cost-table"].size(), 4U);
    ASSERT_EQ(md_cost.size(), 4U);
    for (size_t i = 0; i < 4; ++i) {
        const auto & m = json["cost"]["models"][i];
        ASSERT_TRUE(m["measured"].get<bool>());
        EXPECT_EQ(tables["cost-table"][i][4], fmt::format("{:.2f}", m["items_per_s"].get<double>()));
        for (size_t c : {0, 4, 5, 6, 9, 10, 11, 12}) {
            EXPECT_EQ(tables["cost-table"][i][c].get<std::string>(), md_cost[i][c]) << i << "," << c;
        }
    }
    // Risk and review: one row per model and split, the same cells in HTML and Markdown.
    const auto md_calibration = test::markdown_table(files.markdown, "## Risk and review");
    ASSERT_EQ(md_calibration.size(), json["calibration"]["models"].size());
    ASSERT_EQ(tables["calibration-table"].size(), md_calibration.size());
    ASSERT_GT(md_calibration.size(), 0U);
    for (size_t i = 0; i < md_calibration.size(); ++i) {
        ASSERT_EQ(tables["calibration-table"][i].size(), md_calibration[i].size());
        for (size_t c = 0; c < md_calibration[i].size(); ++c) {
            EXPECT_EQ(tables["calibration-table"][i][c].get<std::string>(), md_calibration[i][c]) << i << "," << c;
        }
    }
    const std::string recommended = json["cost"]["recommendation"]["model"].is_null()
                                        ? "No model is recommended on this evidence."
                                        : "Recommended: " + json["cost"]["recommendation"]["model"].get<std::string>();
    EXPECT_EQ(page["recommendation"], recommended);
    EXPECT_NE(files.markdown.find("**" + recommended + "**"), std::string::npos);

    // The screenshot: a PNG of a page with content.
    const std::string png = test::read_file(shot);
    ASSERT_GT(png.size(), 20000U);
    EXPECT_EQ(png.substr(1, 3), "PNG");
    std::cout << "report screenshot: " << std::filesystem::weakly_canonical(shot).string() << "\n";
}

}  // namespace
}  // namespace compeval
