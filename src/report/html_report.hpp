#pragma once
// The report as one self-contained HTML file: the report's JSON embedded in
// the page, drawn by the page script with Vega-Lite (inlined, so the file
// opens offline): findings, charts, cost, and a per-sample explorer.
#include "analysis/run_report.hpp"

#include <string>

namespace compeval {

std::string report_html(const RunReport & report);

}  // namespace compeval
