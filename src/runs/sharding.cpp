#include "runs/sharding.hpp"

#include "runs/run_dir_lock.hpp"
#include "runs/suite_runner.hpp"
#include "runs/suite_spec.hpp"
#include "scoring/prefix_tree.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/file_status.hpp"
#include "util/sha256.hpp"
#include "version.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>
#include <sstream>

namespace compeval {
namespace {

std::string file_text(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

bool parse_int(std::string_view text, int & value) {
    const auto * end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end && !text.empty();
}

std::string describe(const RunRecord & r) {
    if (r.shard_count == 0) {
        return "an unsharded run";
    }
    return fmt::format("shard {}/{} (--chunk {}) of suite {} by compeval {}", r.shard_index, r.shard_count, r.chunk,
                       r.suite_sha256.substr(0, 12), r.compeval_version);
}

struct ShardStore {
    std::string dir;
    std::string path;
    RunRecord run;  // the first; begin_shard_run keeps the others alike
    bool finished = false;
    size_t requests = 0;
};

ShardStore read_shard_store(const std::string & dir) {
    ShardStore s{dir, dir + "/results.sqlite", {}, false, 0};
    if (!is_file(s.path)) {
        throw Error(dir + ": no results.sqlite (not a run directory)");
    }
    ResultsStore store(s.path);
    const auto runs = store.runs();
    if (runs.empty()) {
        throw Error(s.path + ": holds no run");
    }
    s.run = runs.front();
    for (const auto & r : runs) {
        if (r.shard_count == 0) {
            throw Error(s.path + ": holds an unsharded run; merge takes the directories of `run --shard`");
        }
        if (describe(r) != describe(s.run)) {
            throw Error(s.path + ": holds both " + describe(s.run) + " and " + describe(r));
        }
        s.finished = s.finished || !r.finished_at.empty();
    }
    s.requests = store.count_requests();
    return s;
}

// Refuses shards that do not make up one whole run: same version, suite, N
// and chunk (the plan depends on each), every index once, every one finished.
std::vector<const ShardStore *> check_shards(const std::vector<ShardStore> & shards) {
    const ShardStore & first = shards.front();
    for (const auto & s : shards) {
        const RunRecord & a = s.run;
        const RunRecord & b = first.run;
        if (a.compeval_version != b.compeval_version) {
            throw Error(fmt::format("{} was written by compeval {} but {} by compeval {}", s.dir, a.compeval_version,
                                    first.dir, b.compeval_version));
        }
        if (a.suite_sha256 != b.suite_sha256) {
            throw Error(fmt::format("{} ran another suite than {} (suite sha256 {} vs {})", s.dir, first.dir,
                                    a.suite_sha256.substr(0, 12), b.suite_sha256.substr(0, 12)));
        }
        if (a.shard_count != b.shard_count) {
            throw Error(fmt::format("{} is shard {}/{} but {} is shard {}/{}", s.dir, a.shard_index, a.shard_count,
                                    first.dir, b.shard_index, b.shard_count));
        }
        if (a.chunk != b.chunk) {
            throw Error(fmt::format("{} was planned with --chunk {} but {} with --chunk {}", s.dir, a.chunk, first.dir,
                                    b.chunk));
        }
    }
    if (first.run.compeval_version != kVersion) {
        throw Error(fmt::format("the shards were written by compeval {}; this is compeval {}",
                                first.run.compeval_version, kVersion));
    }
    const int n = first.run.shard_count;
    for (const auto & s : shards) {  // a damaged or hand-edited store may say shard 0/3 or 7/3
        if (s.run.shard_count < 1 || s.run.shard_index < 1 || s.run.shard_index > s.run.shard_count) {
            throw Error(fmt::format("{}: its store says shard {}/{}, which no --shard I/N makes", s.dir,
                                    s.run.shard_index, s.run.shard_count));
        }
    }
    std::vector<const ShardStore *> by_index(static_cast<size_t>(n), nullptr);
    for (const auto & s : shards) {
        auto & slot = by_index[static_cast<size_t>(s.run.shard_index - 1)];
        if (slot != nullptr) {
            throw Error(fmt::format("{} and {} are both shard {}/{}", slot->dir, s.dir, s.run.shard_index, n));
        }
        slot = &s;
    }
    std::vector<std::string> missing;
    for (int i = 0; i < n; ++i) {
        if (by_index[static_cast<size_t>(i)] == nullptr) {
            missing.push_back(std::to_string(i + 1));
        }
    }
    if (!missing.empty()) {
        std::string list = missing.front();
        for (size_t k = 1; k < missing.size(); ++k) {
            list += ", " + missing[k];
        }
        throw Error(fmt::format("missing shard{} {} of {}", missing.size() > 1 ? "s" : "", list, n));
    }
    for (const auto * s : by_index) {
        if (!s->finished) {
            throw Error(
                fmt::format("{}: shard {}/{} did not finish; run it again to resume", s->dir, s->run.shard_index, n));
        }
    }
    return by_index;
}

}  // namespace

ShardSpec parse_shard(const std::string & text) {
    const auto slash = text.find('/');
    ShardSpec shard;
    if (slash == std::string::npos || !parse_int(std::string_view(text).substr(0, slash), shard.index) ||
        !parse_int(std::string_view(text).substr(slash + 1), shard.count) || shard.count < 1 || shard.index < 1 ||
        shard.index > shard.count) {
        throw Error("--shard must be I/N with 1 <= I <= N (shards count from 1), not '" + text + "'");
    }
    return shard;
}

ShardPlanner::ShardPlanner(ShardSpec shard, size_t chunk) {
    plan_.shard = shard;
    plan_.chunk = chunk;
    plan_.tokens.assign(static_cast<size_t>(std::max(shard.count, 1)), 0);
    plan_.requests.assign(plan_.tokens.size(), 0);
}

std::vector<bool> ShardPlanner::assign(const std::vector<TokenizedRequest> & tokenized,
                                       const std::vector<size_t> & unique) {
    const size_t chunk = plan_.chunk;
    const size_t n_chunks = (unique.size() + chunk - 1) / chunk;
    std::vector<uint64_t> weight(n_chunks);
    for (size_t c = 0; c < n_chunks; ++c) {
        std::vector<const std::vector<Token> *> sequences;
        for (size_t u = c * chunk; u < std::min(unique.size(), (c + 1) * chunk); ++u) {
            sequences.push_back(&tokenized[unique[u]].tokens);
        }
        weight[c] = PrefixTree::build(sequences).size();  // the tokens scoring this chunk decodes
    }
    std::vector<size_t> order(n_chunks);
    std::iota(order.begin(), order.end(), size_t{0});
    std::ranges::stable_sort(order, [&](size_t a, size_t b) { return weight[a] > weight[b]; });
    std::vector<bool> mine(unique.size(), false);
    for (const size_t c : order) {
        const auto target = static_cast<size_t>(std::ranges::min_element(plan_.tokens) - plan_.tokens.begin());
        const size_t first = c * chunk;
        const size_t last = std::min(unique.size(), first + chunk);
        plan_.tokens[target] += weight[c];
        plan_.requests[target] += last - first;
        if (static_cast<int>(target) == plan_.shard.index - 1) {
            std::fill(mine.begin() + static_cast<std::ptrdiff_t>(first),
                      mine.begin() + static_cast<std::ptrdiff_t>(last), true);
        }
    }
    return mine;
}

int64_t begin_shard_run(ResultsStore & store, const SuiteSpec & suite, const std::string & suite_text, ShardSpec shard,
                        size_t chunk) {
    RunRecord self;
    self.shard_index = shard.index;
    self.shard_count = shard.count;
    self.chunk = static_cast<int64_t>(chunk);
    self.suite_sha256 = sha256_string(suite_text);
    self.compeval_version = kVersion;
    for (const auto & r : store.runs()) {
        if (describe(r) != describe(self)) {
            throw Error(fmt::format("{}: holds {}; shard {}/{} of this suite needs its own --out directory",
                                    store.path(), describe(r), shard.index, shard.count));
        }
    }
    const int64_t run_id = store.begin_run(suite.path, suite_text);
    // Absolute, so that merge finds the suite from any working directory.
    store.record_shard(run_id, shard.index, shard.count, chunk,
                       std::filesystem::absolute(suite.path).lexically_normal().string());
    return run_id;
}

void write_shard_marker(const SuiteRunResult & run, const std::string & dir) {
    const ShardPlan & plan = run.shard;
    const auto i = static_cast<size_t>(plan.shard.index - 1);
    const nlohmann::json marker = {
        {"shard", plan.shard.index},
        {"of", plan.shard.count},
        {"chunk", plan.chunk},
        {"compeval_version", kVersion},
        {"requests", plan.requests[i]},
        {"tokens", plan.tokens[i]},
        {"requests_per_shard", plan.requests},
        {"tokens_per_shard", plan.tokens},
        {"scored", run.scored},
        {"reused", run.reused},
        {"note",
         "one shard of a suite: results.sqlite holds its requests only; `compeval merge` the shard "
         "directories for samples and summaries"}};
    std::filesystem::create_directories(dir);
    write_file_atomically(dir + "/shard.json", marker.dump(2) + "\n");
}

MergeResult merge_shards(const std::string & out_dir, const std::vector<std::string> & shard_dirs,
                         const MergeOptions & options) {
    if (shard_dirs.empty()) {
        throw Error("merge: no shard directories");
    }
    const std::string out_path = out_dir + "/results.sqlite";
    const auto refuse_existing_store = [&] {
        if (std::filesystem::exists(out_path)) {
            throw Error(out_path +
                        " already exists: merge into a new directory (to export a store again: compeval "
                        "run SUITE --out " +
                        out_dir + ")");
        }
    };
    // A directory another process writes is refused first, naming it; a new
    // one is made (and locked) only once the shards pass, so a refused merge
    // leaves nothing behind.
    std::optional<RunDirLock> lock;
    if (std::filesystem::is_directory(out_dir)) {
        lock.emplace(out_dir, "compeval merge");
    }
    refuse_existing_store();
    std::vector<ShardStore> shards;
    shards.reserve(shard_dirs.size());
    for (const auto & dir : shard_dirs) {
        shards.push_back(read_shard_store(dir));
    }
    const auto by_index = check_shards(shards);
    const RunRecord & first = shards.front().run;
    MergeResult result;
    result.suite = options.suite.empty() ? first.suite_path : options.suite;
    result.shards = first.shard_count;
    if (const auto problem = file_problem(result.suite)) {
        throw Error(result.suite + ": suite file " + *problem + " (pass --suite)");
    }
    if (sha256_string(file_text(result.suite)) != first.suite_sha256) {
        throw Error(result.suite + ": not the suite the shards ran (its text differs)");
    }
    const SuiteSpec suite = load_suite_spec(result.suite, options.data_dir);  // every input checked before writing

    if (!lock) {
        lock.emplace(out_dir, "compeval merge");
        refuse_existing_store();  // another merge may have finished meanwhile
    }
    ResultsStore store(out_path);
    size_t rows = 0;
    for (const auto * s : by_index) {
        rows += s->requests;
        result.requests += store.merge_from(s->path);
    }
    result.duplicates = rows - result.requests;
    SuiteRunOptions run_options;
    run_options.threads = options.threads;
    run_options.batch = options.batch;
    run_options.reuse_only = true;
    try {
        export_suite_results(run_suite(suite, store, run_options), out_dir);
    } catch (const Error & e) {
        throw Error(std::string("merge: ") + e.what());
    }
    return result;
}

}  // namespace compeval
