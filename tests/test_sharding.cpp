// Scale-out: shards of a suite, merged, export exactly what one run exports;
// every request is scored by one shard; the split is balanced by tokens; and
// merge refuses shards that do not make up one run.
#include "runs/sharding.hpp"
#include "runs/suite_runner.hpp"
#include "runs/suite_spec.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"
#include "version.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <set>

namespace compeval {
namespace {

constexpr size_t kChunk = 16;

// Two scoring tasks and a representational one over generated rows, on a
// base and a chat model (the pattern of test_suite_runs.cpp).
std::string write_suite(const std::string & dir, size_t rows, bool chat = true) {
    std::ofstream data(dir + "/toy.tsv");
    data << "text\tlabel\tkind\tadjective\tnoun\n";
    const std::array<const char *, 8> adjectives = {"red",    "fake", "small", "former",
                                                    "wooden", "toy",  "green", "alleged"};
    const std::array<const char *, 8> nouns = {"apple", "gun", "car", "chair", "leaf", "coin", "house", "river"};
    for (size_t i = 0; i < rows; ++i) {
        const char * a = adjectives[i % 8];
        const char * n = nouns[(i / 8 + i) % 8];
        data << "a " << a << " " << n << " number " << i << " is a " << n << "\t" << (i % 3 == 0 ? 0 : 1) << "\tk"
             << i % 2 << "\t" << a << "\t" << n << "\n";
    }
    data.close();
    std::ofstream(dir + "/toy.yaml") << R"(name: toy
data: {format: tsv, splits: {all: "{data_dir}/toy.tsv"}, keep: [kind]}
scoring: {mode: label_words, label: label, label_words: {"1": " yes", "0": " no"}}
prompts:
  - {name: question, plain: "Question: is it true that {{text}}? Answer:", chat: {user: "Is it true that {{text}}?"}}
  - {name: claim, plain: "Claim: {{text}}. True? Answer:", chat: {user: "Claim: {{text}}. True or false?"}}
)";
    std::ofstream(dir + "/toy-mc.yaml") << R"(name: toy-mc
data: {format: tsv, splits: {all: "{data_dir}/toy.tsv"}}
scoring: {mode: ranking_pairs, label: label, pair_by: kind, positive: "1", choice: " {{text}}"}
prompts:
  - {name: plain, plain: "Which is true?", chat: {user: "Which is true?"}}
)";
    std::ofstream(dir + "/toy-fit.yaml") << R"(name: toy-fit
kind: composition_fit
carrier: "This is a {{phrase}}."
max_phrases: 16
data: {phrases: "{data_dir}/toy.tsv"}
)";
    std::ofstream suite(dir + "/suite.yaml");
    suite << "name: shard-suite\ndata_dir: .\nmodels:\n  - {name: base, path: " << test::model_path("tiny-f32")
          << ", variant: base}\n";
    if (chat) {
        suite << "  - {name: chat, path: " << test::model_path("chat-tiny-suite", test::kChatTemplate)
              << ", variant: instruct}\n";
    }
    suite << "tasks: [toy.yaml, toy-mc.yaml" << (chat ? ", toy-fit.yaml" : "") << "]\n";
    return dir + "/suite.yaml";
}

nlohmann::json read_json(const std::string & path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

// (model, request hash) -> the stored score, as text that shows every bit.
std::map<std::pair<std::string, std::string>, std::string> store_rows(const std::string & path) {
    sqlite3 * db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt * s = nullptr;
    sqlite3_prepare_v2(db,
                       "SELECT model_sha256, request_hash, printf('%!.17g %d %d', logprob, n_tokens, greedy) "
                       "FROM requests",
                       -1, &s, nullptr);
    std::map<std::pair<std::string, std::string>, std::string> rows;
    while (sqlite3_step(s) == SQLITE_ROW) {
        auto text = [&](int i) { return std::string(reinterpret_cast<const char *>(sqlite3_column_text(s, i))); };
        rows[{text(0), text(1)}] = text(2);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rows;
}

SuiteRunResult run_into(const SuiteSpec & suite, const std::string & dir, ShardSpec shard = {}) {
    std::filesystem::create_directories(dir);
    ResultsStore store(dir + "/results.sqlite");
    SuiteRunOptions options;
    options.chunk = kChunk;
    options.shard = shard;
    auto run = run_suite(suite, store, options);
    export_suite_results(run, dir);
    return run;
}

double spread(const std::vector<uint64_t> & v) {
    return static_cast<double>(*std::ranges::max_element(v)) / static_cast<double>(*std::ranges::min_element(v));
}

TEST(Sharding, ThreeShardsMergedExportExactlyWhatOneRunExports) {
    const std::string dir = test::temp_dir("shard-merge");
    const SuiteSpec suite = load_suite_spec(write_suite(dir, 96));
    const auto whole = run_into(suite, dir + "/whole");

    size_t scored = 0;
    std::vector<uint64_t> measured;  // tokens each shard's engine decoded
    std::map<std::pair<std::string, std::string>, std::string> union_rows;
    nlohmann::json plan;
    std::vector<std::string> shard_dirs;
    for (int i = 1; i <= 3; ++i) {
        const std::string shard_dir = dir + "/shards/" + std::to_string(i);
        shard_dirs.push_back(shard_dir);
        const auto run = run_into(suite, shard_dir, {i, 3});
        // A shard exports only its marker: no per-task numbers from a third of the requests.
        for (const char * f : {"samples.jsonl", "summary.json", "summary.csv", "layers.csv", "cost.json"}) {
            EXPECT_FALSE(std::filesystem::exists(shard_dir + "/" + f)) << f;
        }
        const auto marker = read_json(shard_dir + "/shard.json");
        EXPECT_EQ(marker["shard"], i);
        EXPECT_EQ(marker["of"], 3);
        if (i == 1) {
            plan = marker;
        }
        EXPECT_EQ(marker["tokens_per_shard"], plan["tokens_per_shard"]) << "every shard computes the same plan";
        EXPECT_EQ(marker["requests"].get<size_t>(), run.scored);
        EXPECT_EQ(run.reused, 0U);
        EXPECT_TRUE(run.layers.empty()) << "representational tasks are left to the merged export";
        scored += run.scored;
        uint64_t tokens = 0;
        for (const auto & mc : run.costs) {
            for (const auto & c : mc.measured) {
                tokens += c.tokens_decoded;
            }
        }
        measured.push_back(tokens);
        for (const auto & [key, value] : store_rows(shard_dir + "/results.sqlite")) {
            EXPECT_TRUE(union_rows.emplace(key, value).second) << "scored by two shards: " << key.second;
        }
    }
    // A partition: every request scored once, by one shard.
    EXPECT_EQ(scored, whole.scored);
    EXPECT_EQ(union_rows.size(), whole.scored);
    EXPECT_EQ(union_rows, store_rows(dir + "/whole/results.sqlite")) << "a shard scored a request differently";

    // Balanced by tokens: the plan (prefix-tree tokens per chunk) and what the engines decoded.
    const auto planned = plan["tokens_per_shard"].get<std::vector<uint64_t>>();
    std::cout << "chunks of " << kChunk << " requests; planned tokens per shard: " << planned[0] << " " << planned[1]
              << " " << planned[2] << "; decoded: " << measured[0] << " " << measured[1] << " " << measured[2]
              << "; requests: " << plan["requests_per_shard"].dump() << "\n";
    EXPECT_LE(spread(planned), 1.1);
    EXPECT_LE(spread(measured), 1.25);

    std::ranges::reverse(shard_dirs);  // the order of the arguments does not matter
    const auto merged = merge_shards(dir + "/merged", shard_dirs);
    EXPECT_EQ(merged.shards, 3);
    EXPECT_EQ(merged.requests, whole.scored);
    EXPECT_EQ(merged.duplicates, 0U);
    for (const char * f : {"samples.jsonl", "summary.json", "summary.csv", "layers.csv"}) {
        EXPECT_EQ(test::read_file(dir + "/merged/" + f), test::read_file(dir + "/whole/" + f)) << f;
    }
    EXPECT_GT(std::filesystem::file_size(dir + "/merged/layers.csv"), 200U);
    // The shards' measured costs are carried over: cost.json counts every request once.
    const auto merged_cost = read_json(dir + "/merged/cost.json");  // outlives the loop (a temporary would not)
    for (const auto & m : merged_cost["models"]) {
        for (const auto & t : m["tasks"]) {
            EXPECT_EQ(t["measured_requests"], t["unique_requests"]) << m["model"] << " " << t["task"];
            EXPECT_GT(t["tokens_decoded"].get<uint64_t>(), 0U);
        }
    }
    // The merged directory is an ordinary run: running it again scores nothing.
    ResultsStore store(dir + "/merged/results.sqlite");
    SuiteRunOptions options;
    options.chunk = kChunk;
    const auto again = run_suite(suite, store, options);
    EXPECT_EQ(again.scored, 0U);
    EXPECT_EQ(again.reused, whole.scored);
}

TEST(Sharding, ShardSyntaxIsIOfNCountingFromOne) {
    EXPECT_EQ(parse_shard("2/3").index, 2);
    EXPECT_EQ(parse_shard("2/3").count, 3);
    EXPECT_EQ(parse_shard("1/1").count, 1);
    for (const char * bad : {"0/3", "4/3", "3", "1/0", "-1/3", "a/b", "2/3x", "/3", "2/"}) {
        EXPECT_EQ(test::error_of([&] { parse_shard(bad); }),
                  std::string("--shard must be I/N with 1 <= I <= N (shards count from 1), not '") + bad + "'");
    }
}

TEST(Sharding, StoresFromBeforeShardingStayReadable) {
    const std::string path = test::temp_dir("shard-old-store") + "/results.sqlite";
    sqlite3 * db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db,
                 "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, suite_path TEXT, suite_text TEXT, "
                 "compeval_version TEXT, llama_cpp TEXT, started_at TEXT, finished_at TEXT, scored INTEGER NOT NULL "
                 "DEFAULT 0, reused INTEGER NOT NULL DEFAULT 0);"
                 "INSERT INTO runs (suite_path, suite_text, compeval_version, finished_at, scored) "
                 "VALUES ('s.yaml', 'name: s', '0.1.0', 'then', 7);",
                 nullptr, nullptr, nullptr);
    sqlite3_close(db);
    ResultsStore store(path);
    const auto runs = store.runs();
    ASSERT_EQ(runs.size(), 1U);
    EXPECT_EQ(runs[0].shard_count, 0);
    EXPECT_EQ(runs[0].scored, 7);
    EXPECT_EQ(runs[0].suite_sha256, sha256_string("name: s"));
}

void set_column(const std::string & store, const std::string & sql) {
    sqlite3 * db = nullptr;
    sqlite3_open(store.c_str(), &db);
    sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    sqlite3_close(db);
}

TEST(Merge, RefusesShardsThatDoNotMakeUpOneRun) {
    const std::string dir = test::temp_dir("shard-refuse");
    const std::string suite_path = write_suite(dir, 12, false);
    const SuiteSpec suite = load_suite_spec(suite_path);
    std::ofstream(dir + "/other.yaml") << test::read_file(suite_path) << "# another suite\n";
    const SuiteSpec other = load_suite_spec(dir + "/other.yaml");
    auto shard = [&](const SuiteSpec & s, int i, int n, const std::string & name) {
        run_into(s, dir + "/" + name, {i, n});
        return dir + "/" + name;
    };
    const std::string s1 = shard(suite, 1, 3, "s1");
    const std::string s2 = shard(suite, 2, 3, "s2");
    const std::string s3 = shard(suite, 3, 3, "s3");
    const std::string o2 = shard(other, 2, 3, "o2");
    const std::string n1 = shard(suite, 1, 2, "n1");
    const std::string dup = dir + "/dup";
    const std::string old = dir + "/old";
    const std::string unfinished = dir + "/unfinished";
    std::filesystem::copy(s1, dup);
    std::filesystem::copy(s2, old);
    std::filesystem::copy(s3, unfinished);
    set_column(old + "/results.sqlite", "UPDATE runs SET compeval_version = '0.0.0-old'");
    set_column(unfinished + "/results.sqlite", "UPDATE runs SET finished_at = NULL");
    const std::string whole = dir + "/whole";
    run_into(suite, whole);

    const std::string out = dir + "/merged";
    auto merge_error = [&](const std::vector<std::string> & dirs, const std::string & suite_override = "") {
        return test::error_of([&] { merge_shards(out, dirs, {suite_override}); });
    };
    const auto hash = [](const std::string & path) { return sha256_string(test::read_file(path)).substr(0, 12); };
    EXPECT_EQ(merge_error({s1, o2, s3}), o2 + " ran another suite than " + s1 + " (suite sha256 " +
                                             hash(dir + "/other.yaml") + " vs " + hash(suite_path) + ")");
    EXPECT_EQ(merge_error({s1, s3}), "missing shard 2 of 3");
    EXPECT_EQ(merge_error({s2}), "missing shards 1, 3 of 3");
    EXPECT_EQ(merge_error({s1, s2, s3, dup}), s1 + " and " + dup + " are both shard 1/3");
    EXPECT_EQ(merge_error({s1, n1}), n1 + " is shard 1/2 but " + s1 + " is shard 1/3");
    EXPECT_EQ(merge_error({s1, old, s3}),
              old + " was written by compeval 0.0.0-old but " + s1 + " by compeval " + kVersion);
    EXPECT_EQ(merge_error({s1, s2, unfinished}), unfinished + ": shard 3/3 did not finish; run it again to resume");
    EXPECT_EQ(merge_error({s1, whole}),
              whole + "/results.sqlite: holds an unsharded run; merge takes the directories of `run --shard`");
    EXPECT_EQ(merge_error({s1, dir + "/nowhere"}), dir + "/nowhere: no results.sqlite (not a run directory)");
    EXPECT_EQ(merge_error({s1, s2, s3}, dir + "/other.yaml"),
              dir + "/other.yaml: not the suite the shards ran (its text differs)");
    EXPECT_FALSE(std::filesystem::exists(out)) << "a refused merge writes nothing";

    // A shard needs its own directory: another shard's store is refused before any run is recorded.
    const auto runs_before = ResultsStore(s1 + "/results.sqlite").runs().size();
    EXPECT_EQ(test::error_of([&] {
                  run_into(suite, s1, {2, 3});
              }),
              s1 + "/results.sqlite: holds shard 1/3 (--chunk 16) of suite " + hash(suite_path) + " by compeval " +
                  kVersion + "; shard 2/3 of this suite needs its own --out directory");
    EXPECT_EQ(ResultsStore(s1 + "/results.sqlite").runs().size(), runs_before);

    const auto merged = merge_shards(out, {s3, s1, s2});
    EXPECT_EQ(merged.requests, ResultsStore(whole + "/results.sqlite").count_requests());
    EXPECT_EQ(test::read_file(out + "/summary.json"), test::read_file(whole + "/summary.json"));
    EXPECT_EQ(merge_error({s1, s2, s3}), out +
                                             "/results.sqlite already exists: merge into a new directory (to "
                                             "export a store again: compeval run SUITE --out " +
                                             out + ")");
}

// The commands of docs/scale-out.md, as its Slurm and Kubernetes recipes run them.
TEST(ShardCli, RunShardIOfNThenMergeAsTheRecipesDo) {
    const std::string dir = test::temp_dir("shard-cli");
    write_suite(dir, 40);
    const std::string bin = "cd " + dir + " && " + test::compeval_binary();
    const auto whole = test::run_command(bin + " run suite.yaml --out whole -t 1");
    ASSERT_EQ(whole.exit_code, 0) << whole.err;
    for (int i = 1; i <= 3; ++i) {
        const auto id = std::to_string(i);
        const auto shard = test::run_command(bin + " run suite.yaml --shard " + id + "/3 --out shards/" + id + " -t 1");
        ASSERT_EQ(shard.exit_code, 0) << shard.err;
        EXPECT_NE(shard.out.find("shard " + id + "/3: "), std::string::npos) << shard.out;
        EXPECT_TRUE(std::filesystem::exists(dir + "/shards/" + id + "/shard.json"));
        EXPECT_FALSE(std::filesystem::exists(dir + "/shards/" + id + "/summary.json"));
    }
    const auto merge = test::run_command(bin + " merge merged shards/1 shards/2 shards/3");
    ASSERT_EQ(merge.exit_code, 0) << merge.err;
    EXPECT_NE(merge.out.find("merged 3 shards of " + dir + "/suite.yaml"), std::string::npos) << merge.out;
    for (const char * f : {"samples.jsonl", "summary.json", "summary.csv", "layers.csv"}) {
        EXPECT_EQ(test::read_file(dir + "/merged/" + f), test::read_file(dir + "/whole/" + f)) << f;
    }
    const auto bad_shard = test::run_command(bin + " run suite.yaml --shard 4/3 --out shards/4");
    EXPECT_EQ(bad_shard.exit_code, 1);
    EXPECT_EQ(bad_shard.err,
              "compeval: error: --shard must be I/N with 1 <= I <= N (shards count from 1), not '4/3'\n");
    const auto missing = test::run_command(bin + " merge merged2 shards/1 shards/3");
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_EQ(missing.err, "compeval: error: missing shard 2 of 3\n");
}

}  // namespace
}  // namespace compeval
