// The libFuzzer binary: COMPEVAL_FUZZ_TARGET (environment) names the target
// (fuzz_targets.cpp lists them); scripts/fuzz.sh runs each in turn.
#include "fuzz_targets.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

namespace {
const compeval::fuzz::FuzzTarget * target = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int * /*argc*/, char *** /*argv*/) {
    const char * name = std::getenv("COMPEVAL_FUZZ_TARGET");
    if (name == nullptr) {
        std::fprintf(stderr, "compeval_fuzz: set COMPEVAL_FUZZ_TARGET to 'list' or one of:");
        for (const auto & t : compeval::fuzz::fuzz_targets()) {
            std::fprintf(stderr, " %s", t.name);
        }
        std::fprintf(stderr, "\n");
        std::exit(2);
    }
    if (std::string_view(name) == "list") {
        for (const auto & t : compeval::fuzz::fuzz_targets()) {
            std::printf("%s\n", t.name);
        }
        std::exit(0);
    }
    try {
        target = &compeval::fuzz::fuzz_target(name);
        // COMPEVAL_FUZZ_SEEDS_TO=DIR: copy the target's seeds and kept
        // regression inputs into DIR (a fresh corpus) and stop.
        if (const char * to = std::getenv("COMPEVAL_FUZZ_SEEDS_TO")) {
            auto files = compeval::fuzz::seed_files(*target);
            const auto kept = compeval::fuzz::regression_files(*target);
            files.insert(files.end(), kept.begin(), kept.end());
            std::filesystem::create_directories(to);
            for (size_t i = 0; i < files.size(); ++i) {
                const auto name_in_corpus =
                    std::to_string(i) + "-" + std::filesystem::path(files[i]).filename().string();
                std::filesystem::copy_file(files[i], std::filesystem::path(to) / name_in_corpus,
                                           std::filesystem::copy_options::overwrite_existing);
            }
            std::fprintf(stderr, "compeval_fuzz: %zu seeds for %s in %s\n", files.size(), name, to);
            std::exit(0);
        }
    } catch (const std::exception & e) {
        std::fprintf(stderr, "compeval_fuzz: %s\n", e.what());
        std::exit(2);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    const std::string_view input(reinterpret_cast<const char *>(data), size);
    if (const auto escaped = compeval::fuzz::run_fuzz_input(*target, input)) {
        std::fprintf(stderr, "compeval fuzz target %s: uncaught %s\n", target->name, escaped->c_str());
        std::abort();  // libFuzzer keeps the input as a crash
    }
    return 0;
}
