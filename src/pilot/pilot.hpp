#pragma once
// The pilot: one call from a domain file to a decision. It generates the
// domain's items and compositional split, takes the models to compare (a
// suite's, GGUF files, or a lab zoo trained on the domain's seen
// combinations), runs every model on seen and unseen combinations (the
// few-shot pool is the seen ones) into a resumable run directory, writes the
// report, and summarizes it (pilot_summary).
#include "analysis/run_report.hpp"
#include "report/report_files.hpp"
#include "runs/suite_runner.hpp"

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace compeval {

struct PilotOptions {
    std::string domain;               // the domain file
    std::vector<std::string> models;  // suite files and GGUF files; empty: a lab zoo trained on the domain
    std::string out;                  // the run directory
    std::string zoo_dir;              // where that zoo is built or reused
    std::string zoo_config;           // a zoo file whose settings it takes (its domain is replaced); "": built in
    ReportOptions report;
    int threads = 0;
    int batch = 256;
    size_t chunk = 512;
    const std::atomic<bool> * cancel = nullptr;
    std::function<void(const SuiteProgress &)> progress;
    std::function<void(const std::string &)> log;
    // Builds the zoo described by a zoo file into a directory. The CLI trains
    // in a child process (training wants OpenMP threads that sleep, scoring
    // threads that spin); the default calls build_zoo in this process.
    std::function<void(const std::string & zoo_file, const std::string & zoo_dir)> train_zoo;
};

// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json members may throw on copy; callers expect that.
struct PilotResult {
    std::string suite;  // the suite file the pilot wrote and ran
    size_t combinations = 0;
    size_t seen = 0;
    size_t unseen = 0;
    size_t left_out = 0;  // split.by date: combinations with an atom not seen before the date
    SuiteRunResult run;
    ReportFiles report;
    double train_seconds = 0;  // building or reusing the zoo
    double run_seconds = 0;
    double report_seconds = 0;
};

// The zoo a pilot trains when given no models: the default zoo's sizes and
// instruction-tuning ratios, on the domain (lab/zoo-factory.yaml is the
// same, for the factory domain).
std::string default_pilot_zoo(const std::string & domain_path);

PilotResult run_pilot(const PilotOptions & options);

// The terminal summary: per model (or recipe, seeds pooled) unseen accuracy
// with its interval, the seen - unseen gap, rework per item and items/s; the
// findings on unseen combinations; the recommendation. In the report's language.
std::string pilot_summary(const nlohmann::json & report);

}  // namespace compeval
