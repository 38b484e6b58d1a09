#pragma once
// Progress lines on stderr, only for runs longer than a second and at most
// once a second, so short runs stay silent and logs stay small.
#include <chrono>
#include <cstddef>
#include <string>

namespace compeval {

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

}  // namespace compeval
