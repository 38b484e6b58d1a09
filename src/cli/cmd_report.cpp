#include "report/report_files.hpp"
#include "cli/commands.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <memory>

namespace compeval::cli {

std::map<std::string, double> parse_error_costs(const std::vector<std::string> & costs) {
    std::map<std::string, double> out;
    for (const auto & c : costs) {
        const auto eq = c.rfind('=');
        if (eq == std::string::npos || c.find("->") == std::string::npos) {
            throw Error("--cost '" + c + "': expected GOLD->PRED=COST");
        }
        try {
            out[c.substr(0, eq)] = std::stod(c.substr(eq + 1));
        } catch (const std::exception &) {
            throw Error("--cost '" + c + "': the cost is not a number");
        }
    }
    return out;
}

void add_selective_options(CLI::App & cmd, std::vector<double> & max_errors, double & review_cost) {
    cmd.add_option("--max-error", max_errors,
                   "Target error rates of the answers a model gives alone (comma-separated; the first is the\n"
                   "recommendation's): the confidence threshold, the share answered alone and the share to a person")
        ->delimiter(',')
        ->check(CLI::Range(1e-9, 1.0 - 1e-9))
        ->capture_default_str();
    cmd.add_option("--review-cost", review_cost,
                   "Cost of a person checking one item (same unit as --cost): the report adds the cheapest\n"
                   "confidence threshold and its total cost per 1k items")
        ->check(CLI::NonNegativeNumber);
}

void add_report_command(CLI::App & app) {
    struct Args {
        std::string run;
        std::string metric = "acc";
        std::vector<std::string> costs;
        int iterations = 2000;
        uint64_t seed = 1;
        double price_per_hour = 0;
        std::string lang = "en";
        bool lm_eval_samples = false;
        std::vector<double> max_errors = ReportOptions{}.max_errors;
        double review_cost = -1;
    };
    auto args = std::make_shared<Args>();
    auto * cmd = app.add_subcommand(
        "report",
        "Turn a run directory into the study's answers, recomputed from the stored samples: RUN/report.html\n"
        "(self-contained: charts, tables, sample explorer), RUN/report.md, RUN/report.json (every number)\n"
        "and lm-evaluation-harness style results in RUN/lm-eval/ (with their per-task samples files\n"
        "under --lm-eval-samples).");
    cmd->add_option("run", args->run, "Run directory (from compeval run)")->required();
    cmd->add_option("--metric", args->metric, "acc, acc_norm_tok, acc_norm_char or acc_calibrated")
        ->capture_default_str();
    cmd->add_option("--cost", args->costs, "Cost of an error kind, GOLD->PRED=COST (e.g. defect->fine=5); default 1");
    cmd->add_option("--iterations", args->iterations, "Bootstrap iterations")->capture_default_str();
    cmd->add_option("--seed", args->seed, "Bootstrap seed")->capture_default_str();
    cmd->add_option("--price-per-hour", args->price_per_hour,
                    "Price of the machine the run was measured on, per hour (cost per 1k items);\n"
                    "without it cost is given in machine-seconds per 1k items")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--lang", args->lang, "Language of the report's sentences: en or ja (the numbers are the same)")
        ->check(CLI::IsMember({"en", "ja"}))
        ->capture_default_str();
    add_selective_options(*cmd, args->max_errors, args->review_cost);
    cmd->add_flag("--lm-eval-samples", args->lm_eval_samples,
                  "Also write lm-eval's per-task samples files (its --log_samples): samples.jsonl again, in\n"
                  "lm-eval's shape");
    cmd->callback([args] {
        ReportOptions options;
        options.metric = args->metric;
        options.iterations = args->iterations;
        options.seed = args->seed;
        options.price_per_hour = args->price_per_hour;
        options.error_costs = parse_error_costs(args->costs);
        options.lang = args->lang;
        options.max_errors = args->max_errors;
        options.review_cost = args->review_cost;
        const auto files = write_report_files(args->run, options, report_timestamp(), args->lm_eval_samples);
        const auto lm_eval = std::count_if(files.written.begin(), files.written.end(), [](const std::string & p) {
            return p.find("/lm-eval/") != std::string::npos;
        });
        fmt::print(
            "{0}\nwrote {1}/report.html, {1}/report.md, {1}/report.json and {2} lm-evaluation-harness files "
            "under {1}/lm-eval/\n",
            files.markdown, args->run, lm_eval);
    });
}

}  // namespace compeval::cli
