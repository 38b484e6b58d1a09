#include "fuzz_targets.hpp"

#include "analysis/run_report.hpp"
#include "analysis/run_samples.hpp"
#include "backends/gguf_check.hpp"
#include "domains/inspection_records.hpp"
#include "data/mc_items.hpp"
#include "data/table_reader.hpp"
#include "lab/zoo.hpp"
#include "report/lm_eval_samples.hpp"
#include "runs/results_store.hpp"
#include "runs/sharding.hpp"
#include "runs/suite_spec.hpp"
#include "tasks/task_spec.hpp"
#include "util/error.hpp"

#include <fnmatch.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <fstream>
#include <algorithm>
#include <typeinfo>

namespace compeval::fuzz {

void fuzz_remote_server(std::string_view input);  // fuzz_remote_targets.cpp
void fuzz_prompt_logprobs(std::string_view input);
void fuzz_chat_completion(std::string_view input);

namespace {

namespace fs = std::filesystem;

std::string write_file(const std::string & name, std::string_view content) {
    const std::string path = scratch_dir() + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), std::ssize(content));
    return path;
}

// A run directory holding only `files` (name -> content).
std::string run_dir(const std::string & name, const std::vector<std::pair<std::string, std::string_view>> & files) {
    const std::string dir = scratch_dir() + "/" + name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    for (const auto & [file, content] : files) {
        write_file(name + "/" + file, content);
    }
    return dir;
}

void task_yaml(std::string_view input) {
    (void)load_task_spec(write_file("task-input/task.yaml", input), scratch_dir() + "/data");
}

void suite_yaml(std::string_view input) {
    // In suites/ beside links to the repository's tasks, domains, lab and
    // data, so a suite naming them (../tasks/...) reaches their loaders too.
    (void)load_suite_spec(write_file("suites/suite.yaml", input));
}

void domain_yaml(std::string_view input) {
    const auto spec = load_domain_spec(write_file("domain-input/domain.yaml", input));
    if (spec.records) {
        (void)read_domain_records(spec);
    } else {
        (void)generate_domain_items(spec);
    }
}

void zoo_yaml(std::string_view input) {
    (void)load_zoo_config(write_file("zoo-input/zoo.yaml", input));
}

void items_jsonl(std::string_view input) {
    (void)read_mc_items(write_file("items.jsonl", input));
}

// The first byte picks the format, the second the delimiter option, the
// third whether the columns are given (no header row); the rest is the file.
void table(std::string_view input) {
    if (input.size() < 3) {
        return;
    }
    TableOptions options;
    const std::array formats = {TableFormat::Tsv, TableFormat::Csv, TableFormat::Jsonl, TableFormat::Json};
    options.format = formats[static_cast<unsigned char>(input[0]) % formats.size()];
    const std::array delimiters = {'\0', ',', '\t', ';', '|', '"'};
    options.delimiter = delimiters[static_cast<unsigned char>(input[1]) % delimiters.size()];
    if ((static_cast<unsigned char>(input[2]) & 1U) != 0) {
        options.columns = {"text", "label", "gold"};
    }
    (void)read_table(write_file("table.data", input.substr(3)), options);
}

void gguf(std::string_view input) {
    (void)check_gguf_file(write_file("model.gguf", input));
}

void samples_jsonl(std::string_view input) {
    const std::string dir = run_dir("samples-run", {{"samples.jsonl", input}});
    (void)read_run_samples(dir, "acc");
    (void)lm_eval::read_samples(dir);
}

// A well-formed samples.jsonl, so the report reaches summary.json.
constexpr std::string_view kSamples =
    R"({"choices":[{"greedy":true,"logprob":-0.5,"n_tokens":1,"text":" yes"},{"greedy":false,"logprob":-2.0,"n_tokens":1,"text":" no"}],"context":"Is it? Answer:","fields":{},"form":"plain","gold":0,"id":"test:1","line":1,"model":"small-base","model_sha256":"aaa111","pred":{"acc":0},"split":"test","task":"color","variant":"plain"}
{"choices":[{"greedy":false,"logprob":-2.5,"n_tokens":1,"text":" yes"},{"greedy":true,"logprob":-0.1,"n_tokens":1,"text":" no"}],"context":"Is it not? Answer:","fields":{},"form":"plain","gold":1,"id":"test:2","line":2,"model":"small-base","model_sha256":"aaa111","pred":{"acc":1},"split":"test","task":"color","variant":"plain"}
)";

void summary_json(std::string_view input) {
    ReportOptions options;
    options.iterations = 20;
    (void)build_report(run_dir("summary-run", {{"samples.jsonl", kSamples}, {"summary.json", input}}), options);
}

// A results store as `compeval merge` meets another machine's: opened,
// its runs listed and every table copied in.
void results_store(std::string_view input) {
    const std::string dir = run_dir("store-run", {{"results.sqlite", input}});
    ResultsStore store(dir + "/results.sqlite");
    (void)store.runs();
    (void)store.count_requests();
    (void)store.run_counters();
    ResultsStore merged(":memory:");  // SQLite's in-memory database: the merge reads every table
    (void)merged.merge_from(dir + "/results.sqlite");
}

// A shard's store as merge reads it (its run record is the shard's manifest:
// which shard of which suite, planned with which chunk).
void shard_store(std::string_view input) {
    const std::string dir = run_dir("shard-run", {{"results.sqlite", input}});
    fs::remove_all(scratch_dir() + "/merged");
    (void)merge_shards(scratch_dir() + "/merged", {dir}, MergeOptions{});
}

}  // namespace

namespace {

// Removed when the process ends normally (a crash leaves it for a look).
struct ScratchDir {
    std::string path;
    explicit ScratchDir(std::string p) : path(std::move(p)) {}
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir & operator=(const ScratchDir &) = delete;
    ScratchDir(ScratchDir &&) = delete;
    ScratchDir & operator=(ScratchDir &&) = delete;
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
};

}  // namespace

const std::string & scratch_dir() {
    static const ScratchDir dir{[] {
        const char * base = std::getenv("TMPDIR");
        const std::string root = fs::is_directory("/dev/shm") ? "/dev/shm" : (base != nullptr ? base : "/tmp");
        // mkdtemp, not the pid: a crashed run keeps its directory, and a later process can
        // get the same pid (CI saw "cannot create directory symlink: File exists").
        std::string d = root + "/compeval-fuzz-XXXXXX";
        if (mkdtemp(d.data()) == nullptr) {
            throw std::runtime_error("cannot create a scratch directory under " + root);
        }
        for (const char * linked : {"tasks", "domains", "lab", "data"}) {
            fs::create_directory_symlink(fs::path(source_dir()) / linked, fs::path(d) / linked);
        }
        return d;
    }()};
    return dir.path;
}

const std::vector<FuzzTarget> & fuzz_targets() {
    static const std::vector<FuzzTarget> targets = {
        {"task_yaml", task_yaml, {"tasks/*.yaml", "tasks/*/*.yaml", "examples/*/*.yaml"}},
        {"suite_yaml", suite_yaml, {"suites/*.yaml", "examples/*/*.yaml"}},
        {"domain_yaml", domain_yaml, {"domains/*.yaml"}},
        {"zoo_yaml", zoo_yaml, {"lab/*.yaml"}},
        {"items_jsonl", items_jsonl, {"data/*.jsonl"}},
        {"table", table, {}},
        {"gguf", gguf, {}},
        {"samples_jsonl", samples_jsonl, {}},
        {"summary_json", summary_json, {}},
        {"results_store", results_store, {}},
        {"shard_store", shard_store, {}},
        {"remote_server", fuzz_remote_server, {}},
        {"prompt_logprobs", fuzz_prompt_logprobs, {}},
        {"chat_completion", fuzz_chat_completion, {}},
    };
    return targets;
}

namespace {

// Files under `dir` matching `pattern` ('/'-separated, '*' within a name).
void glob_into(const fs::path & dir, std::string_view pattern, std::vector<std::string> & out) {
    const auto slash = pattern.find('/');
    const std::string head(pattern.substr(0, slash));
    std::error_code ec;
    for (const auto & entry : fs::directory_iterator(dir, ec)) {
        if (fnmatch(head.c_str(), entry.path().filename().c_str(), 0) != 0) {
            continue;
        }
        if (slash == std::string_view::npos) {
            if (entry.is_regular_file()) {
                out.push_back(entry.path().string());
            }
        } else if (entry.is_directory()) {
            glob_into(entry.path(), pattern.substr(slash + 1), out);
        }
    }
}

std::vector<std::string> sorted_glob(const std::vector<std::string> & patterns) {
    std::vector<std::string> out;
    for (const auto & p : patterns) {
        glob_into(source_dir(), p, out);
    }
    std::ranges::sort(out);
    return out;
}

}  // namespace

std::vector<std::string> seed_files(const FuzzTarget & target) {
    auto patterns = target.seeds;
    patterns.push_back(std::string("fuzz/seeds/") + target.name + "/*");
    return sorted_glob(patterns);
}

std::vector<std::string> regression_files(const FuzzTarget & target) {
    return sorted_glob({std::string("fuzz/regressions/") + target.name + "/*"});
}

const FuzzTarget & fuzz_target(std::string_view name) {
    for (const auto & t : fuzz_targets()) {
        if (name == t.name) {
            return t;
        }
    }
    throw Error("no fuzz target named " + std::string(name));
}

std::optional<std::string> run_fuzz_input(const FuzzTarget & target, std::string_view input) {
    try {
        target.run(input);
    } catch (const Error &) {
        // A clean refusal.
    } catch (const std::exception & e) {
        return std::string(typeid(e).name()) + ": " + e.what();
    } catch (...) {
        return std::string("an exception of unknown type");
    }
    return std::nullopt;
}

}  // namespace compeval::fuzz
