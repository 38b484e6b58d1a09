#include "cli/commands.hpp"
#include "cli/interrupt.hpp"
#include "cli/progress.hpp"
#include "pilot/pilot.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>

namespace compeval::cli {
namespace {

// `compeval lab zoo` in a child process: training wants OpenMP threads that
// sleep while waiting (lab_process.cpp re-executes with that policy), and
// scoring threads that spin; one process cannot have both.
void train_zoo_in_child(const std::string & zoo_file, const std::string & zoo_dir) {
    std::vector<std::string> args = {"compeval", "lab", "zoo", zoo_file, "--out", zoo_dir};
    std::vector<char *> argv;
    argv.reserve(args.size() + 1);
    for (auto & a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), environ) != 0) {
        throw Error("cannot start `compeval lab zoo` to train the pilot's zoo");
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            throw Error("lost the zoo-training process");
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw Error(
            fmt::format("training the pilot's zoo failed (compeval lab zoo {} --out {}: {}); the models "
                        "trained so far are kept, run again to resume",
                        zoo_file, zoo_dir, WIFEXITED(status) ? fmt::format("exit {}", WEXITSTATUS(status)) : "killed"));
    }
}

std::string default_zoo_dir(const std::string & domain) {
    const char * xdg = std::getenv("XDG_CACHE_HOME");
    const char * home = std::getenv("HOME");
    const std::string cache =
        xdg != nullptr && *xdg != '\0' ? xdg : std::string(home != nullptr ? home : ".") + "/.cache";
    return cache + "/compeval/lab/pilot-" + std::filesystem::path(domain).stem().string();
}

}  // namespace

void add_pilot_command(CLI::App & app) {
    struct Args {
        PilotOptions options;
        std::vector<std::string> costs;
    };
    auto args = std::make_shared<Args>();
    auto * cmd = app.add_subcommand(
        "pilot",
        "From a domain file to a decision in one command: generate the items and the compositional split,\n"
        "run every model on seen and unseen combinations (few-shot examples are seen ones), write the report\n"
        "and print a summary. Without --models it trains (or reuses) a lab zoo on the domain's seen\n"
        "combinations: sizes and instruction-tuning ratios, before anyone pays for a large model. Resumable.");
    cmd->add_option("domain", args->options.domain, "Domain file (YAML), e.g. domains/factory.yaml")->required();
    cmd->add_option("--models", args->options.models,
                    "Suite files (their models) and GGUF files to compare; default: a lab zoo trained on the domain");
    cmd->add_option("-o,--out", args->options.out, "Run directory (default: runs/pilot-DOMAIN)");
    cmd->add_option("--zoo", args->options.zoo_config,
                    "A zoo file whose sizes, seeds and ratios the trained zoo takes (its language is replaced)");
    cmd->add_option("--zoo-dir", args->options.zoo_dir,
                    "Where the zoo is built or reused (default: ~/.cache/compeval/lab/pilot-DOMAIN)");
    cmd->add_option("--lang", args->options.report.lang, "Report and summary language: en or ja")
        ->check(CLI::IsMember({"en", "ja"}))
        ->capture_default_str();
    cmd->add_option("--cost", args->costs, "Cost of an error kind, GOLD->PRED=COST (e.g. defect->fine=5); default 1");
    add_selective_options(*cmd, args->options.report.max_errors, args->options.report.review_cost);
    cmd->add_option("-t,--threads", args->options.threads, "CPU threads (0 = all)")->capture_default_str();
    cmd->add_option("-b,--batch", args->options.batch, "Tokens per llama_decode call")->capture_default_str();
    cmd->callback([args] {
        PilotOptions options = args->options;
        const std::string stem = std::filesystem::path(options.domain).stem().string();
        if (options.out.empty()) {
            options.out = "runs/pilot-" + stem;
        }
        if (options.zoo_dir.empty()) {
            options.zoo_dir = default_zoo_dir(options.domain);
        }
        options.report.error_costs = parse_error_costs(args->costs);
        const auto & stop = install_stop_handlers();
        options.cancel = &stop;
        auto progress = std::make_shared<SuiteProgressReporter>();
        options.progress = [progress](const SuiteProgress & p) { progress->update(p); };
        options.log = [](const std::string & line) { fmt::print(stderr, "{}\n", line); };
        options.train_zoo = train_zoo_in_child;
        PilotResult result;
        try {
            result = run_pilot(options);
        } catch (const Error &) {
            if (stop) {
                throw Error("interrupted: every committed chunk is kept in " + options.out +
                            "/results.sqlite; run the same command again to resume");
            }
            throw;
        }
        progress->finish();
        fmt::print("{}", pilot_summary(result.report.report.data));
        fmt::print(
            "{} combinations ({} seen / {} unseen{}); zoo {:.1f} s, scoring {:.1f} s ({} requests scored, {} reused), "
            "report {:.1f} s\nwrote {}/report.html, {}/report.md, {}/report.json\n",
            result.combinations, result.seen, result.unseen,
            result.left_out > 0 ? fmt::format(" / {} left out", result.left_out) : "", result.train_seconds,
            result.run_seconds, result.run.scored, result.run.reused, result.report_seconds, options.out, options.out,
            options.out);
    });
}

}  // namespace compeval::cli
