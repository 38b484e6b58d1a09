// The report in Japanese (compeval report --lang ja). Each of the analysis's
// sentence forms is rewritten whole with its numbers; the language is checked
// at the CLI and the library; and one run reported both ways is compared as a
// reader sees it (Chromium: tables cell by cell, headings, chart titles) and as
// the files hold it (Markdown tables, report.json).
#include "analysis/report_language.hpp"
#include "report/report_files.hpp"
#include "runs/suite_runner.hpp"
#include "util/error.hpp"
#include "report_test_run.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace compeval {
namespace {

std::vector<std::string> matches(const std::string & text, const std::regex & re) {
    std::vector<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
        out.push_back(it->str());
    }
    return out;
}

// Every number of a text, in order: integers, signed decimals, scientific
// notation ("n=60: +0.150 [-0.249, +0.548]" -> 60, +0.150, -0.249, +0.548).
std::vector<std::string> numbers(const std::string & text) {
    static const std::regex number(R"([-+]?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?)");
    return matches(text, number);
}

// Only the decimals: for sentences whose units are written differently
// ("per 1k items" / "1,000 件あたり").
std::vector<std::string> decimals(const std::string & text) {
    static const std::regex number(R"([-+]?[0-9]+\.[0-9]+(e[-+]?[0-9]+)?)");
    return matches(text, number);
}

// Whether the UTF-8 character led by byte `lead` is Japanese: U+3000-U+9FFF
// (punctuation, kana, kanji) or U+F000-U+FFFF (full-width forms such as "（").
bool japanese_lead(unsigned char lead) {
    return (lead >= 0xE3 && lead <= 0xE9) || lead == 0xEF;
}

bool has_japanese(const std::string & text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return japanese_lead(static_cast<unsigned char>(c)); });
}

bool has_letters(const std::string & text) {
    return std::any_of(text.begin(), text.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

// A space or line break between two Japanese characters: Japanese is written
// without spaces, so the reader would see a gap in the middle of a word.
bool has_stray_space(const std::string & text) {
    for (size_t i = 1; i + 1 < text.size(); ++i) {
        if (text[i] != ' ' && text[i] != '\n') {
            continue;
        }
        size_t lead = i - 1;
        while (lead > 0 && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) {
            --lead;
        }
        if (japanese_lead(static_cast<unsigned char>(text[lead])) &&
            japanese_lead(static_cast<unsigned char>(text[i + 1]))) {
            return true;
        }
    }
    return false;
}

// The analysis's sentences, one of each form (findings.cpp, ability_correlation.cpp, cost_analysis.cpp).
const std::vector<std::string> kSentences = {
    "instruction tuning helps: +0.080 [+0.010, +0.150]",
    "scale hurts: -0.120 per 10x params [-0.200, -0.040]",
    "quantization hurts: -0.052 [-0.090, -0.013]",
    "no detectable effect of quantization at n=36: +0.000 [+0.000, +0.000], MDE 0.311",
    "no detectable effect of scale at n=60: +0.150 per 10x params [-0.249, +0.548], MDE 0.256",
    "too few models with distinct values to tell (n=2)",
    "goes together with task performance: rho +0.94, p 0.017, n=6",
    "goes against with task performance: rho -0.94, p 0.017, n=6",
    "no detectable association at n=4: rho +0.89, p 0.333",
    "no scored tasks",
    "Recipes: models trained with several seeds are weighed as their recipe, pooled over its seeds (the interval "
    "resamples seeds and items), never by their luckiest seed.",
    "Robustness: the highest compositional accuracy is 200k's, 0.917 [0.860, 0.965]; not detectably worse: 1m, 200k.",
    "No model is detectably above the majority-answer baseline (0.594) on these items: none is fit for unseen "
    "combinations on this evidence.",
    "Cost: not measured for the contenders (all requests were reused from the store).",
    "Cost: the cheapest of them is 50k at 0.4346 machine-seconds per 1k items.",
    "Cost: the cheapest of them is 50k at 1.2e-05 price per 1k items.",
    "Instruction tuning: no detectable loss of compositional accuracy in these findings.",
    "Instruction tuning detectably hurt: 50k-it0.1 on factory-defects (-0.327); 50k-it0.5 on factory-defects "
    "(-0.291); prefer the base model with a prompt where the instruct variant is not needed.",
    "Quantization: no quantized variant detectably lost accuracy against the weights it was quantized from.",
    "Quantization detectably cost accuracy: small-q4 vs small on toy (unseen items, -0.120); small-q4 vs small on "
    "factory (all items, -0.081).",
    "machine-seconds per 1k items",
    "price per 1k items",
};

TEST(ReportLanguage, EverySentenceFormIsRewrittenWithItsNumbersAndNames) {
    for (const auto & en : kSentences) {
        EXPECT_EQ(translate_sentence(en, "en"), en);
        const std::string ja = translate_sentence(en, "ja");
        EXPECT_TRUE(has_japanese(ja)) << en << " -> " << ja;
        EXPECT_FALSE(has_stray_space(ja)) << ja;
        EXPECT_EQ(decimals(ja), decimals(en)) << en << " -> " << ja;
        // No English word of the form is left: what remains in Latin letters is names and notation.
        for (const char * word : {"detect", "effect", "helps", "hurts", "per ", "items", "with", "the ", "model "}) {
            EXPECT_EQ(ja.find(word), std::string::npos) << word << " in " << ja;
        }
    }
    // The names are carried over verbatim.
    const auto hurt_en = std::find_if(kSentences.begin(), kSentences.end(), [](const std::string & s) {
        return s.starts_with("Instruction tuning detectably");
    });
    ASSERT_NE(hurt_en, kSentences.end());
    const std::string hurt = translate_sentence(*hurt_en, "ja");
    for (const char * name : {"50k-it0.1", "50k-it0.5", "factory-defects"}) {
        EXPECT_NE(hurt.find(name), std::string::npos) << hurt;
    }
    // A sentence of no known form stays as it is (the test above fails if one of the analysis's forms did).
    EXPECT_EQ(translate_sentence("something new", "ja"), "something new");
}

TEST(ReportLanguage, AnotherLanguageIsRefusedNamingTheChoices) {
    EXPECT_NO_THROW(check_report_language("en"));
    EXPECT_NO_THROW(check_report_language("ja"));
    try {
        check_report_language("fr");
        ADD_FAILURE() << "fr was accepted";
    } catch (const Error & e) {
        EXPECT_NE(std::string(e.what()).find("en, ja"), std::string::npos) << e.what();
    }
    const std::string dir = test::temp_dir("report-lang-cli");
    const auto refused = test::run_command(test::compeval_binary() + " report " + dir + " --lang fr");
    EXPECT_NE(refused.exit_code, 0);
    EXPECT_NE(refused.err.find("--lang"), std::string::npos) << refused.err;
    const auto help = test::run_command(test::compeval_binary() + " report --help");
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_NE(help.out.find("--lang"), std::string::npos) << help.out;
}

// The Markdown's tables in order: each a list of rows, header row first (the |---| rule left out).
std::vector<std::vector<std::vector<std::string>>> markdown_tables(const std::string & md) {
    std::vector<std::vector<std::vector<std::string>>> tables;
    std::istringstream in(md);
    std::string line;
    bool inside = false;
    while (std::getline(in, line)) {
        if (line.rfind('|', 0) != 0) {
            inside = false;
            continue;
        }
        if (!inside) {
            tables.emplace_back();
            inside = true;
        }
        if (line.rfind("|---", 0) == 0) {
            continue;
        }
        // Cells split at '|' not escaped as "\|".
        std::vector<std::string> cells;
        std::string cell;
        for (size_t i = 1; i < line.size(); ++i) {
            if (line[i] == '|' && line[i - 1] != '\\') {
                cells.push_back(cell);
                cell.clear();
            } else {
                cell += line[i];
            }
        }
        tables.back().push_back(cells);
    }
    return tables;
}

std::vector<std::string> markdown_headings(const std::string & md) {
    std::vector<std::string> out;
    std::istringstream in(md);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind('#', 0) == 0) {
            out.push_back(line);
        }
    }
    return out;
}

// A table header or axis title may stay as it is where it is notation, not a word.
bool notation(const std::string & text) {
    return !has_letters(text) || text == "n" || text == "rho" || text == "p" || text == "A" || text == "B" ||
           text == "ID" || text == "McNemar p" || text == "Jensen-Shannon";
}

// The same run reported in English and in Japanese: in Chromium every table
// has the same rows, every cell the same numbers (a cell without words is the
// same text), every heading, header and axis title is Japanese, and every
// chart draws; the Markdown's tables agree the same way, and report.json
// differs only in its sentences.
TEST(ReportLanguage, JapaneseReportHasTheEnglishNumbersCellByCell) {
    const std::string chromium = test::chromium_for_tests();
    if (chromium.empty()) {
        GTEST_SKIP() << "needs Chromium and Node.js; scripts/test.sh installs both";
    }
    const std::string dir = test::temp_dir("report-ja");
    const SuiteSpec suite = load_suite_spec(test::write_report_suite(dir));
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
    // The Japanese page's screenshot is kept as a test artifact (fonts: scripts/setup.sh).
    const std::string artifact_dir = test::tmp_dir() + "/../test-artifacts";
    std::filesystem::create_directories(artifact_dir);
    const std::string shot = artifact_dir + "/report-ja-screenshot.png";
    const auto page_en = test::check_report_in_chromium(chromium, dir + "/run/report.html", dir + "/run/shot.png",
                                                        dir + "/filters.json");
    const auto page_ja =
        test::check_report_in_chromium(chromium, dir + "/run-ja/report.html", shot, dir + "/filters.json");
    ASSERT_TRUE(page_en.contains("tables") && page_ja.contains("tables"));
    for (const auto * page : {&page_en, &page_ja}) {
        EXPECT_TRUE((*page)["ready"].get<bool>());
        EXPECT_TRUE((*page)["consoleErrors"].empty()) << (*page)["consoleErrors"].dump(1);
        ASSERT_EQ((*page)["charts"].size(), 9U);
        for (const auto & c : (*page)["charts"]) {
            EXPECT_FALSE(c["empty"].get<bool>()) << c["id"];
            EXPECT_EQ(c["svg"].get<int>(), 1) << c["id"];
            EXPECT_GT(c["marks"].get<int>(), 2) << c["id"];
        }
    }
    EXPECT_EQ(page_ja["charts"], page_en["charts"]);  // the same marks drawn
    EXPECT_EQ(page_en["text"]["lang"], "en");
    EXPECT_EQ(page_ja["text"]["lang"], "ja");
    EXPECT_GT(test::read_file(shot).size(), 20000U);

    // Cell by cell: same tables, rows and columns; the same numbers; wordless cells identical.
    ASSERT_EQ(page_ja["tables"].size(), page_en["tables"].size());
    size_t cells = 0;
    for (const auto & [id, rows] : page_en["tables"].items()) {
        ASSERT_TRUE(page_ja["tables"].contains(id)) << id;
        const auto & other = page_ja["tables"][id];
        ASSERT_EQ(other.size(), rows.size()) << id;
        for (size_t r = 0; r < rows.size(); ++r) {
            ASSERT_EQ(other[r].size(), rows[r].size()) << id << " row " << r;
            for (size_t c = 0; c < rows[r].size(); ++c) {
                const auto a = rows[r][c].get<std::string>();
                const auto b = other[r][c].get<std::string>();
                EXPECT_EQ(numbers(b), numbers(a)) << id << " " << r << "," << c << ": " << a << " | " << b;
                if (!has_letters(a)) {
                    EXPECT_EQ(b, a) << id << " " << r << "," << c;
                }
                ++cells;
            }
        }
    }
    EXPECT_GT(cells, 200U);
    // Every sentence is Japanese: the findings' and correlation's verdicts, the
    // measures' names, the samples' correctness, the recommendation's reasons.
    for (const auto & row : page_ja["tables"]["findings-table"]) {
        EXPECT_TRUE(has_japanese(row[3].get<std::string>())) << row[3];  // the comparison
        EXPECT_TRUE(has_japanese(row[8].get<std::string>())) << row[8];
    }
    ASSERT_FALSE(page_ja["tables"]["correlation-table"].empty());
    for (const auto & row : page_ja["tables"]["correlation-table"]) {
        EXPECT_TRUE(has_japanese(row[0].get<std::string>())) << row[0];
        EXPECT_TRUE(has_japanese(row[4].get<std::string>())) << row[4];
    }
    for (const auto & row : page_ja["tables"]["samples-table"]) {
        EXPECT_TRUE(row[7] == "正解" || row[7] == "不正解") << row[7];
    }
    const auto & reasons_en = en.report.data["cost"]["recommendation"]["reasons"];
    const auto & reasons_ja = ja.report.data["cost"]["recommendation"]["reasons"];
    ASSERT_EQ(reasons_ja.size(), reasons_en.size());
    for (size_t i = 0; i < reasons_ja.size(); ++i) {
        const std::string reason = reasons_ja[i].get<std::string>();
        EXPECT_TRUE(has_japanese(reason)) << reason;
        EXPECT_FALSE(has_stray_space(reason)) << reason;
        EXPECT_EQ(decimals(reason), decimals(reasons_en[i].get<std::string>())) << reason;
    }
    // The recommendation's sentence per model on what goes to a person: Japanese, with the English numbers.
    const auto & risk_en = en.report.data["cost"]["recommendation"]["risk"];
    const auto & risk_ja = ja.report.data["cost"]["recommendation"]["risk"];
    ASSERT_EQ(risk_ja.size(), risk_en.size());
    ASSERT_FALSE(risk_ja.empty());
    for (size_t i = 0; i < risk_ja.size(); ++i) {
        const std::string sentence = risk_ja[i].get<std::string>();
        EXPECT_TRUE(has_japanese(sentence)) << sentence;
        EXPECT_FALSE(has_stray_space(sentence)) << sentence;
        EXPECT_EQ(decimals(sentence), decimals(risk_en[i].get<std::string>())) << sentence;
    }
    for (const auto & row : ja.report.data["instruction_tuning_by_route"]) {
        for (const auto & r : row["routes"]) {
            EXPECT_TRUE(has_japanese(r["verdict"].get<std::string>())) << r["verdict"];
        }
    }

    // Headings, table headers, axis and legend titles, the explanations and the explorer's sentence: Japanese.
    const auto & text = page_ja["text"];
    const auto & text_en = page_en["text"];
    ASSERT_EQ(text["headings"].size(), text_en["headings"].size());
    for (const auto & h : text["headings"]) {
        EXPECT_TRUE(has_japanese(h.get<std::string>())) << h;
        EXPECT_FALSE(has_stray_space(h.get<std::string>())) << h;
    }
    for (const auto & [id, headers] : text["headers"].items()) {
        ASSERT_EQ(headers.size(), text_en["headers"][id].size()) << id;
        for (const auto & h : headers) {
            EXPECT_TRUE(has_japanese(h.get<std::string>()) || notation(h.get<std::string>())) << id << ": " << h;
        }
    }
    // Axis and legend titles one for one with the English page's: a title
    // Japanese, and no two joined into one ("予測, pred").
    ASSERT_EQ(text["axisTitles"].size(), text_en["axisTitles"].size());
    ASSERT_FALSE(text["axisTitles"].empty());
    for (size_t i = 0; i < text["axisTitles"].size(); ++i) {
        const std::string a = text_en["axisTitles"][i].get<std::string>();
        const std::string b = text["axisTitles"][i].get<std::string>();
        EXPECT_TRUE(has_japanese(b) || notation(b)) << b;
        EXPECT_EQ(b.find(", ") == std::string::npos, a.find(", ") == std::string::npos) << a << " | " << b;
    }
    ASSERT_EQ(text["legendLabels"].size(), text_en["legendLabels"].size());
    for (const auto & label : text["legendLabels"]) {
        EXPECT_NE(label, "true");  // the Pareto legend says yes/no in words
        EXPECT_NE(label, "false");
    }
    ASSERT_EQ(text["paragraphs"].size(), text_en["paragraphs"].size());
    for (const auto & p : text["paragraphs"]) {
        EXPECT_TRUE(has_japanese(p.get<std::string>())) << p;
        EXPECT_FALSE(has_stray_space(p.get<std::string>())) << p;
    }
    EXPECT_TRUE(has_japanese(text["count"].get<std::string>())) << text["count"];
    EXPECT_EQ(numbers(text["count"].get<std::string>()).size(), numbers(text_en["count"].get<std::string>()).size());
    EXPECT_EQ(page_ja["explorer"], page_en["explorer"]);

    // Markdown: every table with the same rows and numbers, its header Japanese; every heading Japanese.
    const auto md_en = markdown_tables(en.markdown);
    const auto md_ja = markdown_tables(ja.markdown);
    ASSERT_GE(md_en.size(), 6U);
    ASSERT_EQ(md_ja.size(), md_en.size());
    for (size_t t = 0; t < md_en.size(); ++t) {
        ASSERT_EQ(md_ja[t].size(), md_en[t].size()) << "table " << t;
        for (size_t r = 0; r < md_en[t].size(); ++r) {
            ASSERT_EQ(md_ja[t][r].size(), md_en[t][r].size()) << "table " << t << " row " << r;
            for (size_t c = 0; c < md_en[t][r].size(); ++c) {
                const std::string & a = md_en[t][r][c];
                const std::string & b = md_ja[t][r][c];
                EXPECT_EQ(numbers(b), numbers(a)) << "table " << t << " " << r << "," << c << ": " << a << " | " << b;
                if (r == 0) {
                    EXPECT_TRUE(has_japanese(b) || notation(a.substr(1, a.size() - 2))) << b;
                } else if (!has_letters(a)) {
                    EXPECT_EQ(b, a);
                }
            }
        }
    }
    const auto headings_en = markdown_headings(en.markdown);
    const auto headings_ja = markdown_headings(ja.markdown);
    ASSERT_EQ(headings_ja.size(), headings_en.size());
    for (const auto & h : headings_ja) {
        EXPECT_TRUE(has_japanese(h)) << h;
    }
    EXPECT_EQ(ja.markdown.find("## Findings"), std::string::npos);
    EXPECT_FALSE(has_stray_space(ja.markdown));

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
        data["cost"]["recommendation"].erase("risk");
        data["calibration"].erase("sentences");
        for (auto & r : data["calibration"]["seen_vs_unseen"]) {
            r.erase("verdict");
        }
        return data;
    };
    EXPECT_EQ(en.report.data["lang"], "en");
    EXPECT_EQ(ja.report.data["lang"], "ja");
    EXPECT_TRUE(numbers_only(ja.report.data) == numbers_only(en.report.data));
    for (size_t i = 0; i < en.report.data["findings"].size(); ++i) {
        EXPECT_NE(ja.report.data["findings"][i]["verdict"], en.report.data["findings"][i]["verdict"]);
    }
}

}  // namespace
}  // namespace compeval
