// Replays every fuzz target's seeds and the inputs kept from its findings
// (fuzz/regressions/TARGET/) through the same code the libFuzzer binary runs
// (fuzz/fuzz_targets.cpp): each must be accepted or refused with
// compeval::Error. Under the sanitizer build a crash, an out-of-bounds read
// or a leak fails the test as well.
#include "../fuzz/fuzz_targets.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace compeval::fuzz {
namespace {

std::string bytes_of(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class FuzzRegressions : public ::testing::TestWithParam<const FuzzTarget *> {};

TEST_P(FuzzRegressions, EverySeedAndKeptFindingIsAcceptedOrRefusedCleanly) {
    const FuzzTarget & target = *GetParam();
    const auto seeds = seed_files(target);
    EXPECT_FALSE(seeds.empty()) << target.name << " has no seeds";
    auto inputs = seeds;
    const auto kept = regression_files(target);
    inputs.insert(inputs.end(), kept.begin(), kept.end());
    for (const auto & path : inputs) {
        const auto escaped = run_fuzz_input(target, bytes_of(path));
        EXPECT_FALSE(escaped.has_value()) << path << ": " << escaped.value_or("");
    }
}

std::vector<const FuzzTarget *> all_targets() {
    std::vector<const FuzzTarget *> out;
    for (const auto & t : fuzz_targets()) {
        out.push_back(&t);
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzRegressions, ::testing::ValuesIn(all_targets()),
                         [](const auto & info) { return std::string(info.param->name); });

TEST(FuzzTargets, EveryTargetHasAName) {
    EXPECT_GE(fuzz_targets().size(), 14U);
    EXPECT_THROW(fuzz_target("no-such-target"), std::exception);
}

// A crashed run keeps its scratch directory and pids are reused: a leftover named like this
// process's must not stop the targets (CI once failed with "cannot create directory symlink:
// File exists"). Each test runs in its own process, so scratch_dir() is first made here.
TEST(FuzzTargets, ScratchDirIsFreshEvenWhenALeftoverHasThisPid) {
    namespace fs = std::filesystem;
    const fs::path leftover = fs::path(fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path()) /
                              ("compeval-fuzz-" + std::to_string(getpid()));
    fs::create_directories(leftover / "tasks");
    const std::string & dir = scratch_dir();
    EXPECT_NE(fs::path(dir), leftover);
    EXPECT_TRUE(fs::is_directory(fs::path(dir) / "tasks"));
    EXPECT_EQ(&dir, &scratch_dir());
    fs::remove_all(leftover);
}

}  // namespace
}  // namespace compeval::fuzz
