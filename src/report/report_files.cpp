#include "report/report_files.hpp"

#include "report/html_report.hpp"
#include "report/lm_eval_export.hpp"
#include "report/markdown_report.hpp"
#include "util/error.hpp"

#include <fmt/chrono.h>
#include <fmt/core.h>

#include <chrono>
#include <fstream>

namespace compeval {
namespace {

void write_text(const std::string & path, const std::string & text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) {
        throw Error(path + ": cannot write");
    }
}

}  // namespace

std::string report_timestamp() {
    const auto now = std::chrono::system_clock::now();
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    localtime_r(&t, &tm);
    return fmt::format("{:%Y-%m-%dT%H-%M-%S}.{:06d}", tm, micros);
}

ReportFiles write_report_files(const std::string & run_dir, const ReportOptions & options,
                               const std::string & timestamp, bool lm_eval_samples) {
    ReportFiles files;
    files.report = build_report(run_dir, options);
    files.markdown = report_markdown(files.report);
    const std::string html = report_html(files.report);
    for (const auto & [name, text] :
         {std::pair<std::string, const std::string *>{"report.md", &files.markdown}, {"report.html", &html}}) {
        write_text(run_dir + "/" + name, *text);
        files.written.push_back(run_dir + "/" + name);
    }
    write_text(run_dir + "/report.json", files.report.data.dump(2) + "\n");
    files.written.push_back(run_dir + "/report.json");
    const auto lm_eval = write_lm_eval_outputs(run_dir, run_dir + "/lm-eval", timestamp, lm_eval_samples);
    files.written.insert(files.written.end(), lm_eval.begin(), lm_eval.end());
    return files;
}

}  // namespace compeval
