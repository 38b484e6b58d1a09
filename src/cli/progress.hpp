#pragma once
// Progress lines on stderr, only for runs longer than a second and at most
// once a second, so short runs stay silent and logs stay small.
#include <chrono>
#include <cstddef>
#include <string>

namespace compeval {

struct SuiteProgress;

class ProgressReporter {
  public:
    explicit ProgressReporter(std::string unit);
    void update(size_t done, size_t total);
    void finish() const;

  private:
    std::string unit_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_;
    bool printed_ = false;
    bool tty_ = false;
};

// compeval run's line: which model and task of how many, this task's rate
// (requests scored since the task began, over the time since then) and the
// suite's ETA from its planned tokens (the tokens left over the rate at which
// the run has decoded planned tokens so far).
class SuiteProgressReporter {
  public:
    SuiteProgressReporter();
    void update(const SuiteProgress & p);
    void finish() const;
    // The line as printed, for a given time into the task and the suite's scoring.
    static std::string line(const SuiteProgress & p, double task_seconds, double suite_seconds);

  private:
    std::chrono::steady_clock::time_point start_;  // the first event: scoring begins
    std::chrono::steady_clock::time_point task_start_;
    std::chrono::steady_clock::time_point last_;
    size_t model_ = 0;
    size_t task_ = 0;
    bool started_ = false;
    bool printed_ = false;
    bool tty_ = false;
};

}  // namespace compeval
