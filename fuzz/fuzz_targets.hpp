#pragma once
// Every parser of outside input as a fuzz target: a function that feeds one
// input (bytes) to the parser the way compeval meets it (a file, a run
// directory, a server's answers). A parser may accept an input or refuse it
// with compeval::Error (the one-line message the CLI prints); anything else —
// another exception type escaping, a crash, a hang, a leak — is a bug.
// The libFuzzer binaries (fuzz_main.cpp) and the regression test
// (tests/test_fuzz_regressions.cpp) run the same functions.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace compeval::fuzz {

struct FuzzTarget {
    const char * name;
    void (*run)(std::string_view input);
    // Seed files: paths relative to the source tree, '*' matching within a
    // file name (fuzz/seeds/NAME/ is always added).
    std::vector<std::string> seeds;
};

const std::vector<FuzzTarget> & fuzz_targets();

// The source tree (source_dir.cpp: the one file CMake gives its path, so the
// compiler cache serves the others to a clone in another folder).
std::string source_dir();
const FuzzTarget & fuzz_target(std::string_view name);  // throws for an unknown name

// The target's seed files (its globs, fuzz/seeds/NAME/*) and the inputs
// kept from earlier findings (fuzz/regressions/NAME/*), sorted.
std::vector<std::string> seed_files(const FuzzTarget & target);
std::vector<std::string> regression_files(const FuzzTarget & target);

// Runs one input; returns what escaped other than compeval::Error
// ("TYPE: message"), or nothing when the parser accepted or refused it cleanly.
std::optional<std::string> run_fuzz_input(const FuzzTarget & target, std::string_view input);

// A private scratch directory for this process (input files are written here).
const std::string & scratch_dir();

}  // namespace compeval::fuzz
