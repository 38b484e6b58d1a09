#include "cli/progress.hpp"

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
