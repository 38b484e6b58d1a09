#pragma once
// The run the report tests report on (test_report_html.cpp and
// test_report_language.cpp) and the readers of what they check: the Markdown
// tables and the page as Chromium shows it.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace compeval::test {

// Writes into `dir` a suite of tiny and small base models (a scale
// comparison), tiny's instruct variant (instruction tuning) in one family and
// small quantized to Q8_0 (quantization), on a label task, the factory
// domain's seen/unseen split and a per-layer task; returns the suite's path.
std::string write_report_suite(const std::string & dir);

// The cells of the Markdown table that follows `heading`.
std::vector<std::vector<std::string>> markdown_table(const std::string & md, const std::string & heading);

// Chromium's path (CHROMIUM, else /usr/bin/chromium), or "" where Chromium or
// Node.js is missing: the browser tests then skip.
std::string chromium_for_tests();

// tests/browser/check_report.mjs on `html` (its filters from `filters_json`,
// its screenshot written to `screenshot`): the page as a reader sees it.
nlohmann::json check_report_in_chromium(const std::string & chromium, const std::string & html,
                                        const std::string & screenshot, const std::string & filters_json);

}  // namespace compeval::test
