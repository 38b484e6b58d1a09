// A suite scored through a misbehaving network: compeval_fault_proxy sits
// between compeval and a real llama-server and drops connections, resets them
// mid-response, delays, and answers 500 and 429 at set rates. The run must
// finish with exactly the results of a clean run straight to the server:
// nothing lost, nothing scored twice, no number changed.
#include "runs/suite_runner.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

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

void write_suite(const std::string & dir, const std::string & name, const std::string & url) {
    std::ofstream(dir + "/" + name + ".yaml")
        << "name: " << name << "\ndata_dir: .\nmodels:\n"
        << "  - {name: remote, url: '" << url << "', concurrency: 4, cache_prompt: false, family: random}\n"
        << "tasks:\n  - toy.yaml\n";
}

TEST(HttpFaults, ASuiteThroughDropsResetsDelaysAnd5xxEqualsACleanRun) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    const std::string dir = test::temp_dir("http-faults");
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

}  // namespace
}  // namespace compeval
