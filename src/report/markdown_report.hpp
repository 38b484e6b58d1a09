#pragma once
// The report as Markdown: findings, accuracy, the second question, cost and
// the recommendation, with the same numbers (3 decimals) as the HTML report.
#include "analysis/run_report.hpp"

#include <string>

namespace compeval {

std::string report_markdown(const RunReport & report);

}  // namespace compeval
