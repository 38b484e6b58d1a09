// The report end to end: a real run (three generated models, a label task, the
// example domain's seen/unseen split and a per-layer task) -> report files ->
// the HTML opened in headless Chromium (tests/browser/check_report.mjs over the
// DevTools protocol). Every chart must draw, the console stay clean, the
// explorer's filters match counts computed here, and the HTML, Markdown and
// JSON show the same numbers. The screenshot is kept as a test artifact.
#include "data/domain_spec.hpp"
#include "report/report_files.hpp"
#include "runs/suite_runner.hpp"
#include "util/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace compeval {
namespace {

// The run: tiny and small base models (a scale comparison), tiny's instruct
// variant (an instruction-tuning comparison) in one family, and small
// quantized to Q8_0 (a quantization comparison).
std::string write_report_suite(const std::string & dir) {
    std::ofstream data(dir + "/toy.tsv");
    data << "text\tlabel\tkind\n";
    const char * adjectives[] = {"red", "fake", "small", "former", "wooden", "toy"};
    const char * nouns[] = {"apple", "gun", "car", "chair", "leaf", "coin"};
    for (size_t i = 0; i < 36; ++i) {
        const char * n = nouns[i / 6];
        data << "a " << adjectives[i % 6] << " " << n << " is a " << n << "\t" << (i % 3 == 0 ? 0 : 1) << "\tk" << i % 2
             << "\n";
    }
    std::ofstream(dir + "/toy.yaml") << R"(name: toy
data:
  format: tsv
  splits: {all: "{data_dir}/toy.tsv"}
  keep: [kind]
scoring:
  mode: label_words
  label: label
  label_words: {"1": " yes", "0": " no"}
prompts:
  - {name: question, plain: "Question: is it true that {{text}}? Answer:", chat: {user: "Is it true that {{text}}?"}}
  - {name: claim, plain: "Claim: {{text}}. True? Answer:", chat: {user: "Claim: {{text}}. True or false?"}}
)";
    std::ofstream phrases(dir + "/phrases.tsv");
    phrases << "adjective\tnoun\n";
    for (size_t i = 0; i < 16; ++i) {
        phrases << adjectives[i % 6] << "\t" << nouns[(i * 5 + 1) % 6] << "\n";
    }
    std::ofstream(dir + "/fit.yaml") << R"(name: composition-fit
kind: composition_fit
category: representational-composition
carrier: "This is a {{phrase}}."
pooling: last
layers: all
max_phrases: 40
ridge_lambda: 1.0
seed: 3
data:
  phrases: "{data_dir}/phrases.tsv"
)";
    build_domain(load_domain_spec(std::string(COMPEVAL_SOURCE_DIR) + "/domains/factory.yaml"), dir + "/factory");
    std::ofstream(dir + "/suite.yaml") << "name: report\ndata_dir: .\nmodels:\n"
                                       << "  - {name: tiny, path: " << test::model_path("tiny-f32")
                                       << ", family: random, size: 4M}\n"
                                       << "  - {name: small, path: " << test::model_path("small-f32")
                                       << ", family: random, size: 20M}\n"
                                       << "  - {name: tiny-chat, path: "
                                       << test::model_path("chat-tiny-suite", test::kChatTemplate)
                                       << ", family: random, size: 4M, variant: instruct}\n"
                                       << "  - {name: small-q8, quantized_from: small, quant: Q8_0}\n"
                                       << "tasks:\n  - toy.yaml\n  - fit.yaml\n"
                                       << "  - {path: factory/task.yaml, data_dir: factory, limit: 30}\n";
    return dir + "/suite.yaml";
}

// The cells of the Markdown table that follows `heading`.
std::vector<std::vector<std::string>> markdown_table(const std::string & md, const std::string & heading) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(md.substr(md.find(heading)));
    std::string line;
    int seen = 0;
    while (std::getline(in, line)) {
        if (line.rfind('|', 0) != 0) {
            if (seen > 0) {
                break;
            }
            continue;
        }
        if (++seen <= 2) {
            continue;  // header and |---| rule
        }
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream cs(line.substr(1));
        while (std::getline(cs, cell, '|')) {
            cells.push_back(cell.substr(1, cell.size() - 2));
        }
        rows.push_back(cells);
    }
    return rows;
}

TEST(ReportHtml, ChromiumDrawsEveryChartAndTheNumbersAgreeWithMarkdownAndJson) {
    const char * chromium = std::getenv("CHROMIUM") != nullptr ? std::getenv("CHROMIUM") : "/usr/bin/chromium";
    if (!std::filesystem::exists(chromium) || test::run_command("node --version").exit_code != 0) {
        GTEST_SKIP() << "needs Chromium (" << chromium << ") and Node.js; scripts/test.sh installs both";
    }
    const std::string dir = test::temp_dir("report-html");
    const SuiteSpec suite = load_suite_spec(write_report_suite(dir));
    ResultsStore store(dir + "/results.sqlite");
    export_suite_results(run_suite(suite, store, {}), dir + "/run");
    const auto files = write_report_files(dir + "/run", {}, "2026-01-01T00-00-00.000000");
    const nlohmann::json & json = files.report.data;

    // Explorer filters, and the counts they must give, from the JSON's samples.
    const auto & samples = json["samples"];
    const nlohmann::json filters = {{{"task", "toy"}},
                                    {{"task", "factory-defects"}, {"correct", "false"}},
                                    {{"class", "kind=k1"}, {"correct", "true"}},
                                    nlohmann::json::object()};
    std::ofstream(dir + "/filters.json") << filters.dump();
    const std::string artifact_dir = std::string(COMPEVAL_TEST_TMP_DIR) + "/../test-artifacts";
    std::filesystem::create_directories(artifact_dir);
    const std::string shot = artifact_dir + "/report-screenshot.png";
    std::filesystem::remove(shot);
    const auto check = test::run_command("NODE_PATH=" COMPEVAL_NODE_MODULES " CHROMIUM=" + std::string(chromium) +
                                         " node " COMPEVAL_SOURCE_DIR "/tests/browser/check_report.mjs " + dir +
                                         "/run/report.html " + shot + " " + dir + "/filters.json");
    ASSERT_EQ(check.exit_code, 0) << check.err;
    const auto page = nlohmann::json::parse(check.out);

    EXPECT_TRUE(page["ready"].get<bool>());
    EXPECT_TRUE(page["consoleErrors"].empty()) << page["consoleErrors"].dump(1);
    ASSERT_EQ(page["charts"].size(), 7U);
    for (const auto & c : page["charts"]) {
        EXPECT_FALSE(c["empty"].get<bool>()) << c["id"];
        EXPECT_EQ(c["svg"].get<int>(), 1) << c["id"];
        EXPECT_GT(c["marks"].get<int>(), 2) << c["id"];
    }

    ASSERT_EQ(page["explorer"].size(), filters.size());
    for (size_t f = 0; f < filters.size(); ++f) {
        size_t expected = 0;
        for (const auto & s : samples) {
            const auto & want = filters[f];
            bool match = !want.contains("task") || s["task"] == want["task"];
            if (want.contains("correct")) {
                match = match && s["correct"].get<bool>() == (want["correct"] == "true");
            }
            if (want.contains("class")) {
                match = match && s["fields"].value("kind", "") == "k1";
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
    const auto md_findings = markdown_table(files.markdown, "## Findings");
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
    const auto md_quantization = markdown_table(files.markdown, "## Quantization");
    ASSERT_EQ(json["quantization"].size(), 4U);  // toy (its one split, "all"), factory (all, seen, unseen)
    ASSERT_EQ(tables["quantization-table"].size(), md_quantization.size());
    for (size_t i = 0; i < md_quantization.size(); ++i) {
        for (size_t c = 0; c < 13; ++c) {
            EXPECT_EQ(tables["quantization-table"][i][c].get<std::string>(), md_quantization[i][c]) << i << "," << c;
        }
    }
    const auto md_accuracy = markdown_table(files.markdown, "## Accuracy");
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
    const auto md_cost = markdown_table(files.markdown, "## Cost");
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

// The decimals of a cell, in order ("+0.031 [-0.012, +0.093]" -> three).
std::vector<std::string> decimals(const std::string & text) {
    static const std::regex number(R"([-+]?[0-9]+\.[0-9]+(e[-+]?[0-9]+)?)");
    std::vector<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), number); it != std::sregex_iterator(); ++it) {
        out.push_back(it->str());
    }
    return out;
}

bool has_japanese(const std::string & text) {
    return text.find("\xE3") != std::string::npos || text.find("\xE4") != std::string::npos ||
           text.find("\xE5") != std::string::npos || text.find("\xE6") != std::string::npos ||
           text.find("\xE7") != std::string::npos || text.find("\xE8") != std::string::npos ||
           text.find("\xE9") != std::string::npos;
}

bool has_letters(const std::string & text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

// The same run reported in English and in Japanese: in Chromium every table
// has the same rows, every cell the same numbers (a cell without words is the
// same text), every heading, header and axis title is Japanese, and every
// chart draws; the Markdown's tables agree the same way, and report.json
// differs only in its sentences.
TEST(ReportLanguage, JapaneseReportHasTheEnglishNumbersCellByCell) {
    const char * chromium = std::getenv("CHROMIUM") != nullptr ? std::getenv("CHROMIUM") : "/usr/bin/chromium";
    if (!std::filesystem::exists(chromium) || test::run_command("node --version").exit_code != 0) {
        GTEST_SKIP() << "needs Chromium (" << chromium << ") and Node.js; scripts/test.sh installs both";
    }
    const std::string dir = test::temp_dir("report-ja");
    const SuiteSpec suite = load_suite_spec(write_report_suite(dir));
    ResultsStore store(dir + "/results.sqlite");
    export_suite_results(run_suite(suite, store, {}), dir + "/run");
    std::filesystem::copy(dir + "/run", dir + "/run-ja", std::filesystem::copy_options::recursive);
    ReportOptions ja_options;
    ja_options.lang = "ja";
    const auto en = write_report_files(dir + "/run", {}, "2026-01-01T00-00-00.000000");
    const auto ja = write_report_files(dir + "/run-ja", ja_options, "2026-01-01T00-00-00.000000");
    ReportOptions wrong;
    wrong.lang = "fr";
    EXPECT_THROW(write_report_files(dir + "/run", wrong, "2026-01-01T00-00-00.000000"), Error);

    std::ofstream(dir + "/filters.json") << R"([{"correct": "false"}])";
    auto open = [&](const std::string & run) {
        const auto check = test::run_command("NODE_PATH=" COMPEVAL_NODE_MODULES " CHROMIUM=" + std::string(chromium) +
                                             " node " COMPEVAL_SOURCE_DIR "/tests/browser/check_report.mjs " + run +
                                             "/report.html " + run + "/shot.png " + dir + "/filters.json");
        EXPECT_EQ(check.exit_code, 0) << check.err;
        return nlohmann::json::parse(check.out);
    };
    const auto page_en = open(dir + "/run");
    const auto page_ja = open(dir + "/run-ja");
    for (const auto * page : {&page_en, &page_ja}) {
        EXPECT_TRUE((*page)["ready"].get<bool>());
        EXPECT_TRUE((*page)["consoleErrors"].empty()) << (*page)["consoleErrors"].dump(1);
        for (const auto & c : (*page)["charts"]) {
            EXPECT_EQ(c["svg"].get<int>(), 1) << c["id"];
        }
    }
    EXPECT_EQ(page_en["text"]["lang"], "en");
    EXPECT_EQ(page_ja["text"]["lang"], "ja");

    // Cell by cell: same tables, rows and columns; same numbers; wordless cells identical.
    ASSERT_EQ(page_ja["tables"].size(), page_en["tables"].size());
    size_t cells = 0;
    for (const auto & [id, rows] : page_en["tables"].items()) {
        const auto & other = page_ja["tables"][id];
        ASSERT_EQ(other.size(), rows.size()) << id;
        for (size_t r = 0; r < rows.size(); ++r) {
            ASSERT_EQ(other[r].size(), rows[r].size()) << id << " row " << r;
            for (size_t c = 0; c < rows[r].size(); ++c) {
                const auto a = rows[r][c].get<std::string>();
                const auto b = other[r][c].get<std::string>();
                EXPECT_EQ(decimals(b), decimals(a)) << id << " " << r << "," << c << ": " << a << " | " << b;
                if (!has_letters(a)) {
                    EXPECT_EQ(b, a) << id << " " << r << "," << c;
                }
                ++cells;
            }
        }
    }
    EXPECT_GT(cells, 200U);
    // Every verdict and reason is a Japanese sentence.
    for (const auto & row : page_ja["tables"]["findings-table"]) {
        EXPECT_TRUE(has_japanese(row[8].get<std::string>())) << row[8];
    }
    for (const auto & reason : ja.report.data["cost"]["recommendation"]["reasons"]) {
        EXPECT_TRUE(has_japanese(reason.get<std::string>())) << reason;
    }
    // Headings, table headers, axis and legend titles, the explorer's sentence: Japanese.
    const auto & text = page_ja["text"];
    ASSERT_EQ(text["headings"].size(), page_en["text"]["headings"].size());
    for (const auto & h : text["headings"]) {
        EXPECT_TRUE(has_japanese(h.get<std::string>())) << h;
    }
    for (const auto & [id, headers] : text["headers"].items()) {
        for (const auto & h : headers) {
            const std::string header = h.get<std::string>();
            if (header != "n" && header != "rho" && header != "p" && header != "A" && header != "B" && header != "ID" &&
                header != "McNemar p" && header != "Jensen-Shannon") {
                EXPECT_TRUE(has_japanese(header)) << id << ": " << header;
            }
        }
    }
    EXPECT_FALSE(text["axisTitles"].empty());
    for (const auto & a : text["axisTitles"]) {
        EXPECT_TRUE(has_japanese(a.get<std::string>()) || !has_letters(a.get<std::string>())) << a;
    }
    EXPECT_TRUE(has_japanese(text["count"].get<std::string>())) << text["count"];
    EXPECT_EQ(page_ja["explorer"], page_en["explorer"]);

    // Markdown: the same tables with the same numbers, Japanese headings.
    for (const auto & [heading_en, heading_ja] : std::vector<std::pair<std::string, std::string>>{
             {"## Findings", "## 所見"}, {"## Accuracy", "## 正解率"}, {"## Cost", "## コスト"}}) {
        const auto a = markdown_table(en.markdown, heading_en);
        const auto b = markdown_table(ja.markdown, heading_ja);
        ASSERT_EQ(b.size(), a.size()) << heading_ja;
        for (size_t r = 0; r < a.size(); ++r) {
            ASSERT_EQ(b[r].size(), a[r].size());
            for (size_t c = 0; c < a[r].size(); ++c) {
                EXPECT_EQ(decimals(b[r][c]), decimals(a[r][c])) << heading_ja << " " << r << "," << c;
            }
        }
    }
    EXPECT_EQ(ja.markdown.find("## Findings"), std::string::npos);

    // report.json: the same numbers; only the sentences and the language differ.
    auto numbers_only = [](nlohmann::json data) {
        data.erase("lang");
        data.erase("run");  // the two run directories
        for (auto & f : data["findings"]) {
            f.erase("verdict");
        }
        for (auto & r : data["ability_correlation"]) {
            r.erase("verdict");
        }
        for (auto & row : data["instruction_tuning_by_route"]) {
            for (auto & r : row["routes"]) {
                r.erase("verdict");
            }
        }
        data["cost"].erase("unit");
        data["cost"]["recommendation"].erase("reasons");
        return data;
    };
    EXPECT_TRUE(numbers_only(ja.report.data) == numbers_only(en.report.data));
    EXPECT_NE(ja.report.data["findings"][0]["verdict"], en.report.data["findings"][0]["verdict"]);
}

}  // namespace
}  // namespace compeval
