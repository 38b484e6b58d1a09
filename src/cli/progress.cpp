#include "cli/progress.hpp"

#include "runs/suite_runner.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <unistd.h>

namespace compeval {

ProgressReporter::ProgressReporter(std::string unit)
    : unit_(std::move(unit)),
      start_(std::chrono::steady_clock::now()),
      last_(start_),
      tty_(isatty(fileno(stderr)) != 0) {}

void ProgressReporter::update(size_t done, size_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::seconds(1)) {
        return;
    }
    last_ = now;
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = static_cast<double>(done) / seconds;
    const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    fmt::print(stderr, "{}{}/{} {} ({:.1f}/s, {:.0f}s left){}", tty_ ? "\r" : "", done, total, unit_, rate, eta,
               tty_ ? "" : "\n");
    std::fflush(stderr);
    printed_ = true;
}

void ProgressReporter::finish() const {
    if (printed_ && tty_) {
        fmt::print(stderr, "\n");
    }
}

}  // namespace compeval

namespace compeval {
namespace {

std::string duration_text(double seconds) {
    const auto s = static_cast<long long>(seconds + 0.5);
    if (s < 60) {
        return fmt::format("{}s", s);
    }
    if (s < 3600) {
        return fmt::format("{}m{:02}s", s / 60, s % 60);
    }
    return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
}

}  // namespace

SuiteProgressReporter::SuiteProgressReporter()
    : start_(std::chrono::steady_clock::now()), task_start_(start_), last_(start_), tty_(isatty(fileno(stderr)) != 0) {}

std::string SuiteProgressReporter::line(const SuiteProgress & p, double task_seconds, double suite_seconds) {
    const double rate = task_seconds > 0 ? static_cast<double>(p.done - p.reused) / task_seconds : 0.0;
    std::string suite;
    if (!p.suite_tokens_known) {
        suite = "suite ETA unknown (a remote model's tokens are not planned)";
    } else if (p.suite_tokens_done == 0 || suite_seconds <= 0) {
        suite = fmt::format("suite 0% of {} planned tokens", p.suite_tokens);
    } else {
        const double per_second = static_cast<double>(p.suite_tokens_done) / suite_seconds;
        const uint64_t left = p.suite_tokens > p.suite_tokens_done ? p.suite_tokens - p.suite_tokens_done : 0;
        suite = fmt::format("suite {:.0f}% of {} planned tokens, ~{} left",
                            100.0 * static_cast<double>(p.suite_tokens_done) / static_cast<double>(p.suite_tokens),
                            p.suite_tokens, duration_text(static_cast<double>(left) / per_second));
    }
    return fmt::format("model {}/{} {} | task {}/{} {}: {}/{} requests, {:.1f}/s | {}", p.model, p.models, p.model_name,
                       p.task, p.tasks, p.task_name, p.done, p.total, rate, suite);
}

void SuiteProgressReporter::update(const SuiteProgress & p) {
    const auto now = std::chrono::steady_clock::now();
    if (!started_) {
        started_ = true;
        start_ = now;
        last_ = now;
        if (p.suite_tokens_known && p.suite_tokens > 0) {
            fmt::print(stderr,
                       "suite plan: {} requests to score, {} tokens in them, {} to decode with shared prefixes "
                       "decoded once ({:.2f}x fewer)\n",
                       p.suite_requests, p.suite_tokens_requested, p.suite_tokens,
                       static_cast<double>(p.suite_tokens_requested) / static_cast<double>(p.suite_tokens));
        }
    }
    if (p.model != model_ || p.task != task_) {
        model_ = p.model;
        task_ = p.task;
        task_start_ = now;
    }
    if (now - start_ < std::chrono::seconds(1) || now - last_ < std::chrono::seconds(1)) {
        return;
    }
    last_ = now;
    const auto text = line(p, std::chrono::duration<double>(now - task_start_).count(),
                           std::chrono::duration<double>(now - start_).count());
    // Pad over a longer previous line on a terminal.
    if (tty_) {
        fmt::print(stderr, "\r{:<100}", text);
    } else {
        fmt::print(stderr, "{}\n", text);
    }
    std::fflush(stderr);
    printed_ = true;
}

void SuiteProgressReporter::finish() const {
    if (printed_ && tty_) {
        fmt::print(stderr, "\n");
    }
}

}  // namespace compeval
