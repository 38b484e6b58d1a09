#pragma once
// Everything `compeval report RUN` writes into the run directory, as one call
// the CLI and the tests share.
#include "analysis/run_report.hpp"

#include <string>
#include <vector>

namespace compeval {

// Writes RUN/report.html, RUN/report.md, RUN/report.json and the
// lm-evaluation-harness results under RUN/lm-eval/ (named with `timestamp`,
// e.g. 2026-11-28T22-41-07.123456; its per-task samples files only with
// lm_eval_samples, as lm-eval's --log_samples). Returns the report and the files written;
// throws compeval::Error naming a file that cannot be read or written.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json members may throw on copy; callers expect that.
struct ReportFiles {
    RunReport report;
    std::string markdown;
    std::vector<std::string> written;
};
ReportFiles write_report_files(const std::string & run_dir, const ReportOptions & options,
                               const std::string & timestamp, bool lm_eval_samples = false);

// The current local time in lm-eval's file-name form.
std::string report_timestamp();

}  // namespace compeval
