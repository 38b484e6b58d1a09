// A suite scored through a misbehaving network: compeval_fault_proxy sits
// between compeval and a real llama-server and drops connections, resets them
// mid-response, delays, and answers 500 and 429 at set rates. The run must
// finish with exactly the results of a clean run straight to the server:
// nothing lost, nothing scored twice, no number changed.
#include "runs/suite_runner.hpp"
#include "runs/suite_spec.hpp"
#include "scoring/remote_generator.hpp"
#include "scoring/remote_scorer.hpp"
#include "tools/server_lies.hpp"
#include "util/error.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <set>
#include <tuple>
#include <vector>

namespace compeval {
namespace {

using RequestRow = std::tuple<double, int, int>;  // logprob, n_tokens, greedy

std::map<std::string, RequestRow> stored_requests(const std::string & path, size_t & rows) {
    sqlite3 * db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt * s = nullptr;
    sqlite3_prepare_v2(db, "SELECT request_hash, logprob, n_tokens, greedy FROM requests", -1, &s, nullptr);
    std::map<std::string, RequestRow> out;
    rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        ++rows;
        out[reinterpret_cast<const char *>(sqlite3_column_text(s, 0))] = {
            sqlite3_column_double(s, 1), sqlite3_column_int(s, 2), sqlite3_column_int(s, 3)};
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

// samples.jsonl without the model identity (the proxy's URL makes another one).
std::vector<nlohmann::json> samples_without_identity(const std::string & path) {
    std::ifstream in(path);
    std::vector<nlohmann::json> out;
    std::string line;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line);
        j.erase("model_sha256");
        out.push_back(std::move(j));
    }
    return out;
}

void write_suite(const std::string & dir, const std::string & name, const std::string & url,
                 const std::string & options = "concurrency: 4") {
    std::ofstream(dir + "/" + name + ".yaml")
        << "name: " << name << "\ndata_dir: .\nmodels:\n"
        << "  - {name: remote, url: '" << url << "', " << options << ", cache_prompt: false, family: random}\n"
        << "tasks:\n  - toy.yaml\n";
}

// 12 yes/no items under two prompts as DIR/toy.yaml over DIR/toy.tsv.
void write_toy_task(const std::string & dir) {
    std::ofstream data(dir + "/toy.tsv");
    data << "text\tlabel\n";
    const char * adjectives[] = {"red", "fake", "small", "former"};
    const char * nouns[] = {"apple", "gun", "car"};
    for (size_t i = 0; i < 12; ++i) {
        data << "a " << adjectives[i % 4] << " " << nouns[i % 3] << " is a " << nouns[i % 3] << "\t"
             << (i % 3 == 0 ? 0 : 1) << "\n";
    }
    data.close();
    std::ofstream(dir + "/toy.yaml") << R"(name: toy
data: {format: tsv, splits: {all: "{data_dir}/toy.tsv"}}
scoring: {mode: label_words, label: label, label_words: {"1": " yes", "0": " no"}}
prompts:
  - {name: question, plain: "Question: is it true that {{text}}? Answer:"}
  - {name: claim, plain: "Claim: {{text}}. True or false? Answer:"}
)";
}

TEST(HttpFaults, ASuiteThroughDropsResetsDelaysAnd5xxEqualsACleanRun) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    const std::string dir = test::temp_dir("http-faults");
    write_toy_task(dir);
    // One slot and no prompt cache: each request is evaluated alone, so the
    // server's numbers cannot depend on what it ran before or beside it.
    auto server = test::start_llama_server(test::model_path("tiny-f32"), 1, 2048);
    const int port = server.port;
    auto proxy =
        test::start_process({test::fault_proxy_binary(), "--upstream", "127.0.0.1:" + std::to_string(port), "--seed",
                             "7", "--drop", "0.07", "--reset", "0.07", "--delay", "0.07", "--delay-ms", "50",
                             "--error500", "0.07", "--error429", "0.07", "--log", dir + "/proxy.json"},
                            dir + "/proxy.log", true);
    const std::string listening = test::read_line(proxy, std::chrono::seconds(10));
    const std::string proxy_port = listening.substr(listening.rfind(':') + 1);

    write_suite(dir, "clean", "http://127.0.0.1:" + std::to_string(port));
    write_suite(dir, "faulty", "http://127.0.0.1:" + proxy_port);
    const SuiteSpec clean_suite = load_suite_spec(dir + "/clean.yaml");
    const SuiteSpec faulty_suite = load_suite_spec(dir + "/faulty.yaml");  // results point into their suite
    SuiteRunResult clean_run;
    SuiteRunResult faulty_run;
    {
        ResultsStore clean(dir + "/clean.sqlite");
        clean_run = run_suite(clean_suite, clean, {});
        export_suite_results(clean_run, dir + "/clean");
        ResultsStore faulty(dir + "/faulty.sqlite");
        faulty_run = run_suite(faulty_suite, faulty, {});
        export_suite_results(faulty_run, dir + "/faulty");
    }
    const auto faults = nlohmann::json::parse(test::read_file(dir + "/proxy.json"));
    for (const char * kind : {"dropped", "reset", "delayed", "error500", "error429"}) {
        EXPECT_GE(faults[kind].get<int>(), 1) << kind << ": " << faults.dump();
    }
    std::cout << "proxy: " << faults.dump() << "\n";

    size_t clean_rows = 0;
    size_t faulty_rows = 0;
    const auto a = stored_requests(dir + "/clean.sqlite", clean_rows);
    const auto b = stored_requests(dir + "/faulty.sqlite", faulty_rows);
    ASSERT_EQ(clean_run.results.size(), 1U);
    const size_t unique = clean_run.results[0].unique_requests;
    EXPECT_EQ(unique, 50U);  // 12 items x 2 prompts x 2 answers, and the 2 content-free calibration requests
    EXPECT_EQ(clean_rows, unique);
    EXPECT_EQ(faulty_rows, unique);  // nothing lost, nothing twice
    EXPECT_EQ(faulty_run.scored, unique);
    EXPECT_EQ(a, b);  // bit-identical scores
    EXPECT_EQ(samples_without_identity(dir + "/clean/samples.jsonl"),
              samples_without_identity(dir + "/faulty/samples.jsonl"));
    EXPECT_EQ(proxy.stop(), 0);
}

// Each of the proxy's lies, on an answer of the shape it lies about, is
// refused by the parser compeval reads that answer with (or, for a number no
// double holds, by the JSON parser before it).
TEST(ServerLies, EveryLieIsRefusedByTheParserThatReadsIt) {
    const std::string completion =
        R"({"content":"","completion_probabilities":[{"id":5,"logprob":-0.5,"top_logprobs":[{"id":5,"logprob":-0.5}]}]})";
    const std::string chat =
        R"({"choices":[{"message":{"content":"yes"},"finish_reason":"stop","logprobs":{"content":[{"token":"yes",)"
        R"("logprob":-0.1,"top_logprobs":[{"token":"yes","logprob":-0.1},{"token":"no","logprob":-2.4}]}]}}],)"
        R"("usage":{"completion_tokens":1}})";
    EXPECT_NO_THROW(parse_forced_token_reply(nlohmann::json::parse(completion), 5, "srv"));
    EXPECT_NO_THROW(parse_generation_response(nlohmann::json::parse(chat), {}, 2));
    for (uint64_t draw = 0; draw < 4; ++draw) {
        const auto lied_completion = test::lie_about(completion, draw);
        const auto lied_chat = test::lie_about(chat, draw);
        ASSERT_TRUE(lied_completion && lied_chat);
        const auto a = nlohmann::json::parse(*lied_completion, nullptr, false);
        if (!a.is_discarded()) {
            EXPECT_NE(test::error_of([&] { parse_forced_token_reply(a, 5, "srv"); }), "<no error>") << *lied_completion;
        } else {
            EXPECT_NE(lied_completion->find("1e999"), std::string::npos);
        }
        const auto b = nlohmann::json::parse(*lied_chat, nullptr, false);
        if (!b.is_discarded()) {
            EXPECT_NE(test::error_of([&] { parse_generation_response(b, {}, 2); }), "<no error>") << *lied_chat;
        } else {
            EXPECT_NE(lied_chat->find("1e999"), std::string::npos);
        }
    }
}

// A proxy with `faults` in front of `server_port`; returns its port.
std::string start_proxy(test::ChildProcess & proxy, int server_port, const std::vector<std::string> & faults,
                        const std::string & dir, const std::string & name) {
    std::vector<std::string> argv = {test::fault_proxy_binary(), "--upstream",
                                     "127.0.0.1:" + std::to_string(server_port), "--log", dir + "/" + name + ".json"};
    argv.insert(argv.end(), faults.begin(), faults.end());
    proxy = test::start_process(argv, dir + "/" + name + ".log", true);
    const std::string listening = test::read_line(proxy, std::chrono::seconds(10));
    return listening.substr(listening.rfind(':') + 1);
}

// Runs dir/NAME.yaml into dir/NAME.sqlite; the error's message, or "" when it finished.
std::string run_into_store(const std::string & dir, const std::string & name) {
    const SuiteSpec suite = load_suite_spec(dir + "/" + name + ".yaml");
    ResultsStore store(dir + "/" + name + ".sqlite");
    try {
        run_suite(suite, store, {});
    } catch (const Error & e) {
        return e.what();
    }
    return "";
}

TEST(HttpFaults, AServerThatHangsOrTricklesEndsInATimeoutAndOneThatSometimesHangsIsRetried) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    const std::string dir = test::temp_dir("http-hang");
    write_toy_task(dir);
    auto server = test::start_llama_server(test::model_path("tiny-f32"), 1, 2048);
    for (const char * fault : {"--hang", "--trickle"}) {
        test::ChildProcess proxy;
        const std::string port = start_proxy(proxy, server.port, {fault, "1"}, dir, fault + 2);
        const std::string url = "http://127.0.0.1:" + port;
        write_suite(dir, fault + 2, url, "concurrency: 2, timeout: 1, retries: 1");
        const auto start = std::chrono::steady_clock::now();
        const std::string error = run_into_store(dir, fault + 2);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        EXPECT_NE(error.find(url + "/v1/models: gave up after 2 attempts: no complete answer within 1 s (timeout)"),
                  std::string::npos)
            << fault << ": " << error;
        EXPECT_LT(seconds, 30.0) << fault << ": the timeout did not bound the wait";
        size_t rows = 0;
        (void)stored_requests(dir + "/" + (fault + 2) + ".sqlite", rows);
        EXPECT_EQ(rows, 0U) << fault;
    }

    // Hanging now and then: each hung attempt times out and is retried.
    write_suite(dir, "clean", "http://127.0.0.1:" + std::to_string(server.port));
    ASSERT_EQ(run_into_store(dir, "clean"), "");
    test::ChildProcess proxy;
    const std::string port = start_proxy(proxy, server.port, {"--hang", "0.05", "--seed", "3"}, dir, "sometimes");
    write_suite(dir, "sometimes", "http://127.0.0.1:" + port, "concurrency: 4, timeout: 0.5, retries: 10");
    ASSERT_EQ(run_into_store(dir, "sometimes"), "");
    EXPECT_GE(nlohmann::json::parse(test::read_file(dir + "/sometimes.json"))["hung"].get<int>(), 1);
    size_t clean_rows = 0;
    size_t rows = 0;
    EXPECT_EQ(stored_requests(dir + "/clean.sqlite", clean_rows), stored_requests(dir + "/sometimes.sqlite", rows));
    EXPECT_EQ(rows, clean_rows);
}

TEST(HttpFaults, AServerThatLiesIsRefusedAndNothingWrongIsStored) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    const std::string dir = test::temp_dir("http-lies");
    write_toy_task(dir);
    auto server = test::start_llama_server(test::model_path("tiny-f32"), 1, 2048);
    write_suite(dir, "clean", "http://127.0.0.1:" + std::to_string(server.port), "concurrency: 1");
    ASSERT_EQ(run_into_store(dir, "clean"), "");
    size_t clean_rows = 0;
    const auto clean = stored_requests(dir + "/clean.sqlite", clean_rows);
    std::set<std::string> kinds;
    for (int seed = 1; seed <= 6; ++seed) {
        const std::string name = "lies" + std::to_string(seed);
        test::ChildProcess proxy;
        // The start-up probes pass untouched; then one answer in five lies.
        const std::string port = start_proxy(
            proxy, server.port, {"--lie", "0.2", "--faults-after", "30", "--seed", std::to_string(seed)}, dir, name);
        write_suite(dir, name, "http://127.0.0.1:" + port, "concurrency: 1, retries: 0");
        const std::string error = run_into_store(dir, name);
        ASSERT_FALSE(error.empty()) << name << ": a lie went unnoticed";
        bool known = false;
        for (const char * kind :
             {"is not a log-probability", "no completion_probabilities entry", "instead", "not valid JSON"}) {
            if (error.find(kind) != std::string::npos) {
                kinds.insert(kind);
                known = true;
            }
        }
        EXPECT_TRUE(known) << name << ": " << error;
        size_t rows = 0;
        for (const auto & [hash, row] : stored_requests(dir + "/" + name + ".sqlite", rows)) {
            ASSERT_TRUE(clean.contains(hash)) << name;
            EXPECT_EQ(row, clean.at(hash)) << name << ": a lie was stored";
        }
        EXPECT_LT(rows, clean_rows) << name;
    }
    EXPECT_GE(kinds.size(), 2U);
}

}  // namespace
}  // namespace compeval
