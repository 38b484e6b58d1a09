#include "analysis/run_report.hpp"
#include "cli/commands.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <fstream>
#include <memory>

namespace compeval::cli {

void add_report_command(CLI::App & app) {
    struct Args {
        std::string run;
        std::string metric = "acc";
        std::vector<std::string> costs;
        int iterations = 2000;
        uint64_t seed = 1;
    };
    auto args = std::make_shared<Args>();
    auto * cmd = app.add_subcommand(
        "report",
        "Turn a run directory into findings with intervals: RUN/report.md and RUN/report.json (every\n"
        "number), recomputed from the stored samples. (The HTML report comes in a later version.)");
    cmd->add_option("run", args->run, "Run directory (from compeval run)")->required();
    cmd->add_option("--metric", args->metric, "acc, acc_norm_tok, acc_norm_char or acc_calibrated")
        ->capture_default_str();
    cmd->add_option("--cost", args->costs, "Cost of an error kind, GOLD->PRED=COST (e.g. defect->fine=5); default 1");
    cmd->add_option("--iterations", args->iterations, "Bootstrap iterations")->capture_default_str();
    cmd->add_option("--seed", args->seed, "Bootstrap seed")->capture_default_str();
    cmd->callback([args] {
        ReportOptions options;
        options.metric = args->metric;
        options.iterations = args->iterations;
        options.seed = args->seed;
        for (const auto & c : args->costs) {
            const auto eq = c.rfind('=');
            if (eq == std::string::npos || c.find("->") == std::string::npos) {
                throw Error("--cost '" + c + "': expected GOLD->PRED=COST");
            }
            try {
                options.error_costs[c.substr(0, eq)] = std::stod(c.substr(eq + 1));
            } catch (const std::exception &) {
                throw Error("--cost '" + c + "': the cost is not a number");
            }
        }
        const auto report = build_report(args->run, options);
        const std::string md = report_markdown(report);
        std::ofstream(args->run + "/report.md") << md;
        std::ofstream(args->run + "/report.json") << report.data.dump(2) << '\n';
        fmt::print("{}\nwrote {}/report.md and {}/report.json\n", md, args->run, args->run);
    });
}

}  // namespace compeval::cli
