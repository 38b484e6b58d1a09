#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "cli/progress.hpp"
#include "runs/results_store.hpp"
#include "runs/run_dir_lock.hpp"
#include "runs/sharding.hpp"
#include "runs/suite_runner.hpp"
#include "runs/suite_spec.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <atomic>
#include <filesystem>
#include <memory>

namespace compeval::cli {
namespace {

struct RunArgs {
    std::string suite;
    std::string out = "runs/latest";
    std::string data_dir;
    int threads = 0;
    int batch = 256;
    size_t chunk = 512;
    std::string shard;  // "i/N", 1-based
};

void run_suite_command(const RunArgs & args) {
    const SuiteSpec suite = load_suite_spec(args.suite, args.data_dir);  // validates everything before scoring
    const RunDirLock lock(args.out, "compeval run " + args.suite);
    if (!lock.taken_over_from().empty()) {
        fmt::print(stderr, "note: took over {} from a run that did not finish ({}); resuming\n", lock.path(),
                   lock.taken_over_from());
    }
    ResultsStore store(args.out + "/results.sqlite");
    SuiteRunOptions options;
    if (!args.shard.empty()) {
        options.shard = parse_shard(args.shard);
    }
    options.threads = args.threads;
    options.batch = args.batch;
    options.chunk = args.chunk;
    const auto & stop = install_stop_handlers();
    options.cancel = &stop;
    auto progress = std::make_shared<SuiteProgressReporter>();
    options.progress = [progress](const SuiteProgress & p) { progress->update(p); };
    options.log = [](const std::string & line) { fmt::print(stderr, "{}\n", line); };
    SuiteRunResult run;
    try {
        run = run_suite(suite, store, options);
    } catch (const Error & e) {
        if (stop) {
            throw Error("interrupted: every committed chunk is kept in " + store.path() + "; run again to resume");
        }
        throw;
    }
    progress->finish();
    export_suite_results(run, args.out);
    for (const auto & note : run.notes) {
        fmt::print(stderr, "note: {}\n", note);
    }
    if (run.shard.shard.active()) {
        const auto i = static_cast<size_t>(options.shard.index - 1);
        fmt::print(
            "suite {}: shard {}/{}: {} of the suite's unique requests ({} tokens to decode); {} scored, {} reused "
            "from the store\nwrote {}/results.sqlite and {}/shard.json; merge all {} shards with compeval merge\n",
            suite.name, options.shard.index, options.shard.count, run.shard.requests[i], run.shard.tokens[i],
            run.scored, run.reused, args.out, args.out, options.shard.count);
        return;
    }
    fmt::print("suite {}: {} models x {} tasks; {} requests scored, {} reused from the store\n", suite.name,
               suite.models.size(), suite.tasks.size(), run.scored, run.reused);
    fmt::print("{:<16} {:<22} {:<6} {:<10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "model", "task", "form", "split",
               "n", "acc", "norm_tok", "norm_chr", "calib", "no_answer");
    for (const auto & mt : run.results) {
        for (const auto & m : mt.result.metrics) {
            if (m.variant != "mean") {
                continue;
            }
            // A metric the route or task does not compute prints as "-".
            auto value = [&](const char * k) {
                return m.values.contains(k) ? fmt::format("{:.4f}", m.values.at(k)) : std::string("-");
            };
            fmt::print("{:<16} {:<22} {:<6} {:<10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}\n", mt.model.name,
                       mt.result.label(), mt.result.form, m.split, m.n, value("acc"), value("acc_norm_tok"),
                       value("acc_norm_char"), value("acc_calibrated"), value("no_answer"));
        }
    }
    for (const auto & ml : run.layers) {
        fmt::print("{:<16} {:<22} per-layer metrics in {}/layers.csv (layers 0..{})\n", ml.model.name, ml.spec->name,
                   args.out, ml.result.layers.empty() ? 0 : ml.result.layers.back().layer);
    }
    fmt::print("wrote {0}/results.sqlite, {0}/samples.jsonl, {0}/summary.json, {0}/summary.csv, {0}/layers.csv\n",
               args.out);
}

}  // namespace

void add_run_command(CLI::App & app) {
    auto args = std::make_shared<RunArgs>();
    auto * cmd = app.add_subcommand(
        "run", "Run a suite (models x tasks) into a resumable SQLite results store; re-running skips what is stored.");
    cmd->add_option("suite", args->suite, "Suite file (YAML)")->required();
    cmd->add_option("-o,--out", args->out, "Run directory (results.sqlite and exports)")->capture_default_str();
    cmd->add_option("--data-dir", args->data_dir, "Overrides the suite's data_dir");
    cmd->add_option("-t,--threads", args->threads, "CPU threads (0 = all)")->capture_default_str();
    cmd->add_option("-b,--batch", args->batch, "Tokens per llama_decode call")->capture_default_str();
    cmd->add_option("--chunk", args->chunk, "Unique requests per committed chunk")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    cmd->add_option("--shard", args->shard,
                    "Score only shard I of N (I/N, 1-based) into --out; merge the N directories with compeval merge");
    cmd->callback([args] { run_suite_command(*args); });
}

}  // namespace compeval::cli
