#include "analysis/run_comparison.hpp"
#include "cli/commands.hpp"

#include <fmt/core.h>

#include <memory>

namespace compeval::cli {

void add_compare_command(CLI::App & app) {
    struct Args {
        std::string a;
        std::string b;
        std::string metric = "acc";
        int iterations = 2000;
        uint64_t seed = 1;
    };
    auto args = std::make_shared<Args>();
    auto * cmd = app.add_subcommand(
        "compare",
        "Paired differences between two runs on the same items: accuracy A - B with a paired-bootstrap\n"
        "95% interval, McNemar's exact test (Holm-adjusted over all rows) and the minimum detectable effect.");
    cmd->add_option("run_a", args->a, "Run directory A (from compeval run)")->required();
    cmd->add_option("run_b", args->b, "Run directory B")->required();
    cmd->add_option("--metric", args->metric, "acc, acc_norm_tok, acc_norm_char or acc_calibrated")
        ->capture_default_str();
    cmd->add_option("--iterations", args->iterations, "Bootstrap iterations")->capture_default_str();
    cmd->add_option("--seed", args->seed, "Bootstrap seed")->capture_default_str();
    cmd->callback([args] {
        const auto rows = compare_runs(args->a, args->b, args->metric, args->iterations, args->seed);
        fmt::print("A = {}, B = {}, metric {}, paired bootstrap {} iterations (seed {})\n", args->a, args->b,
                   args->metric, args->iterations, args->seed);
        fmt::print("{:<44} {:>6} {:>7} {:>7} {:>26} {:>9} {:>9} {:>7}\n", "group", "n", "acc A", "acc B",
                   "A - B [95% CI]", "McNemar p", "Holm p", "MDE");
        for (const auto & r : rows) {
            fmt::print("{:<44} {:>6} {:>7.4f} {:>7.4f} {:>+9.4f} [{:+.4f}, {:+.4f}] {:>9.4f} {:>9.4f} {:>7.4f}\n",
                       r.group, r.n, r.acc_a, r.acc_b, r.difference.estimate, r.difference.low, r.difference.high,
                       r.p_mcnemar, r.p_holm, r.mde);
        }
    });
}

}  // namespace compeval::cli
