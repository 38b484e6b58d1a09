// Suites and the results store: a real run of base + chat models, a SIGKILL
// resume test against an uninterrupted run, and malformed suites.
#include "analysis/run_comparison.hpp"
#include "analysis/run_report.hpp"
#include "report/markdown_report.hpp"
#include "runs/suite_runner.hpp"
#include "runs/suite_spec.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

namespace compeval {
namespace {

using test::kChatTemplate;
using test::write_toy_suite;

struct Row {
    std::string model, hash;
    double logprob;
    int n_tokens, greedy;
    bool operator==(const Row & o) const {
        return model == o.model && hash == o.hash && logprob == o.logprob && n_tokens == o.n_tokens &&
               greedy == o.greedy;
    }
};

std::vector<Row> store_rows(const std::string & path) {
    sqlite3 * db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt * s = nullptr;
    sqlite3_prepare_v2(db, "SELECT model_sha256, request_hash, logprob, n_tokens, greedy FROM requests ORDER BY 1, 2",
                       -1, &s, nullptr);
    std::vector<Row> rows;
    while (sqlite3_step(s) == SQLITE_ROW) {
        rows.push_back({reinterpret_cast<const char *>(sqlite3_column_text(s, 0)),
                        reinterpret_cast<const char *>(sqlite3_column_text(s, 1)), sqlite3_column_double(s, 2),
                        sqlite3_column_int(s, 3), sqlite3_column_int(s, 4)});
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rows;
}

// Runs the store recorded as started but never finished (killed).
int unfinished_runs(const std::string & path) {
    sqlite3 * db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt * s = nullptr;
    sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM runs WHERE finished_at IS NULL", -1, &s, nullptr);
    sqlite3_step(s);
    const int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

TEST(SuiteRun, BaseAndChatModelsMatchAnIndependentRecomputation) {
    const std::string dir = test::temp_dir("suite-run");
    const SuiteSpec suite = load_suite_spec(write_toy_suite(dir, 40));
    ResultsStore store(dir + "/results.sqlite");
    SuiteRunOptions options;
    options.chunk = 50;
    const auto run = run_suite(suite, store, options);
    ASSERT_EQ(run.results.size(), 4U);
    EXPECT_EQ(run.results[0].result.form, "plain");
    EXPECT_EQ(run.results[2].result.form, "chat");
    for (const auto & mt : run.results) {
        Model model(mt.model.path);
        LoglikelihoodEngine reference(model, {});
        for (size_t i = 0; i < mt.result.results.size(); i += 7) {  // a sample of items
            const auto & r = mt.result.results[i];
            const auto & item = mt.result.items[r.item];
            for (size_t c = 0; c < item.choices.size(); ++c) {
                const bool chat = mt.result.form == "chat";
                const std::string choice =
                    chat ? item.choices[c].substr(item.choices[c].find_first_not_of(' ')) : item.choices[c];
                const auto alone = reference.loglikelihood({{r.context, choice, chat}});
                EXPECT_NEAR(alone[0].logprob, r.choices[c].logprob, mt.model.name == "chat" ? 1e-2 : 1e-4);
            }
        }
    }
    // Everything was stored once; a second run scores nothing.
    EXPECT_EQ(store.count_requests(), run.scored);
    const auto again = run_suite(suite, store, options);
    EXPECT_EQ(again.scored, 0U);
    EXPECT_EQ(again.reused, run.scored + run.reused);
    EXPECT_EQ(again.results[1].result.metrics.back().values, run.results[1].result.metrics.back().values);
    export_suite_results(again, dir + "/export");
    for (const char * f : {"samples.jsonl", "summary.json", "summary.csv"}) {
        EXPECT_GT(std::filesystem::file_size(dir + "/export/" + f), 100U) << f;
    }
}

// Byte-level BPE (Llama 3's tokenizer) and real templates: Reka-Edge and
// gpt-oss score with the answer where they write a final answer, and a
// template whose answers follow "assistant:" directly merges ":" with the
// answer's first letters, so every one of its answers needs the separate
// boundary: recorded per choice and item in samples.jsonl, counted in
// summary.json and in the report, and scored as one-at-a-time scoring scores
// the same tokens.
TEST(SuiteRun, TokenBoundaryIsRecordedCountedAndScoredRight) {
    const std::string dir = test::temp_dir("suite-boundary");
    write_toy_suite(dir, 12);
    const std::string templates = (std::filesystem::path(default_vocab_path()).parent_path() / "templates").string();
    auto bpe_chat = [&](const std::string & label, const std::string & tmpl) {
        test::ArchModel m;
        m.vocab = "llama-bpe";
        m.chat_template = tmpl;
        m.label = label;
        return test::arch_model_path(m);
    };
    const std::string merging =
        bpe_chat("colon",
                 "{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}"
                 "assistant:{% endif %}");
    std::ofstream(dir + "/boundary.yaml")
        << "name: boundary\ndata_dir: .\nmodels:\n"
        << "  - {name: colon, path: " << merging << ", variant: instruct}\n"
        << "  - {name: reka, path: " << bpe_chat("reka", test::read_file(templates + "/Reka-Edge.jinja"))
        << ", variant: instruct}\n"
        << "  - {name: gpt-oss, path: "
        << bpe_chat("gpt-oss", test::read_file(templates + "/openai-gpt-oss-120b.jinja")) << ", variant: instruct}\n"
        << "tasks: [toy.yaml]\n";
    ResultsStore store(dir + "/results.sqlite");
    const SuiteSpec suite = load_suite_spec(dir + "/boundary.yaml");  // results point into it
    const auto run = run_suite(suite, store, {});
    ASSERT_EQ(run.results.size(), 3U);
    std::map<std::string, size_t> separate;
    for (const auto & mt : run.results) {
        Model model(mt.model.path);
        const auto & prefix = model.facts().chat_answer_prefix;
        std::vector<TokenizedRequest> requests;
        std::vector<double> stored;
        for (const auto & r : mt.result.results) {
            ASSERT_EQ(r.boundaries.size(), 2U);
            separate[mt.model.name] += r.separate_boundary() ? 1 : 0;
            EXPECT_EQ(r.context.substr(r.context.size() - prefix.size()), prefix) << mt.model.name;
            const auto & item = mt.result.items[r.item];
            for (size_t c = 0; c < item.choices.size(); ++c) {
                const std::string choice = item.choices[c].substr(1);  // chat answers drop the leading space
                requests.push_back(tokenize_request(model, {r.context, choice, true}));
                EXPECT_EQ(requests.back().boundary, r.boundaries[c]);
                stored.push_back(r.choices[c].logprob);
            }
        }
        // One reference context per model: a fresh one per request spends
        // most of this test allocating Llama 3's 128k-word output rows.
        const auto reference = test::reference_loglikelihood(model, requests);
        for (size_t i = 0; i < requests.size(); ++i) {
            EXPECT_NEAR(reference[i].logprob, stored[i], 1e-3) << mt.model.name << " request " << i;
        }
    }
    const size_t answers = run.results[0].result.results.size();
    EXPECT_EQ(separate["colon"], answers);  // "assistant:" + "no" -> "assistant", ":no"
    EXPECT_EQ(separate["reka"], 0U);        // its answers follow "assistant: "
    EXPECT_EQ(separate["gpt-oss"], 0U);     // ... and "<|channel|>final<|message|>"
    EXPECT_EQ(run.results[2].result.results[0].context.substr(run.results[2].result.results[0].context.size() - 27),
              "<|channel|>final<|message|>");

    export_suite_results(run, dir + "/out");
    std::istringstream samples(test::read_file(dir + "/out/samples.jsonl"));
    size_t separate_lines = 0;
    for (std::string line; std::getline(samples, line);) {
        const auto j = nlohmann::json::parse(line);
        const bool sep = j["boundary"] == "separate";
        separate_lines += sep ? 1 : 0;
        EXPECT_EQ(sep, j["model"] == "colon");
        // The item needed the rule when one of its choices did (":no" is one token, ":yes" is not).
        bool any = false;
        for (const auto & c : j["choices"]) {
            any = any || c["boundary"] == "separate";
        }
        EXPECT_EQ(any, sep);
    }
    EXPECT_EQ(separate_lines, answers);
    size_t counted = 0;
    for (const auto & row : nlohmann::json::parse(test::read_file(dir + "/out/summary.json"))) {
        if (row["prompt"] != "mean") {
            counted += row["boundary_separate"].get<size_t>();
        }
    }
    EXPECT_EQ(counted, answers);
    const auto report = build_report(dir + "/out");
    for (const auto & b : report.data["token_boundary"]) {
        EXPECT_EQ(b["separate"].get<size_t>(), b["model"] == "colon" ? answers : 0U) << b.dump();
        EXPECT_EQ(b["answers"].get<size_t>(), answers);
    }
    EXPECT_NE(
        report_markdown(report).find("| colon | " + std::to_string(answers) + " | " + std::to_string(answers) + " |"),
        std::string::npos);
}

TEST(SuiteRun, EveryBuiltinTaskOnBaseAndChatModelsMatchesTheEngine) {
    const std::string data = test::shared_data_dir();
    if (!std::filesystem::exists(data + "/plane/ood/OOV_test_1.tsv")) {
        GTEST_SKIP() << "shared data not found at " << data << " (built-in tasks suite skipped)";
    }
    const std::string dir = test::temp_dir("suite-builtin");
    test::write_addone_fixture(dir + "/addone");
    std::ofstream suite_file(dir + "/suite.yaml");
    suite_file << "name: builtin\ndata_dir: " << data << "\nmodels:\n"
               << "  - {name: base, path: " << test::model_path("tiny-f16") << ", variant: base}\n"
               << "  - {name: chat, path: " << test::model_path("chat-tiny-suite", kChatTemplate)
               << ", variant: instruct}\ntasks:\n";
    size_t n_tasks = 0;
    for (const auto & entry : std::filesystem::directory_iterator(test::source_dir() + "/tasks")) {
        // AddOne-RTE is not shipped: its tasks read a fixture from their own data_dir.
        const bool addone = entry.path().filename().string().starts_with("addone-rte");
        suite_file << "  - {path: " << entry.path().string() << ", limit: 6"
                   << (addone ? ", data_dir: " + dir + "/addone" : "") << "}\n";
        ++n_tasks;
    }
    suite_file.close();
    const SuiteSpec suite = load_suite_spec(dir + "/suite.yaml");
    ResultsStore store(dir + "/results.sqlite");
    const auto run = run_suite(suite, store, {});
    EXPECT_EQ(run.results.size() + run.layers.size(), 2 * n_tasks);
    for (const auto & mt : run.results) {
        Model model(mt.model.path);
        LoglikelihoodEngine reference(model, {});
        ASSERT_FALSE(mt.result.results.empty()) << mt.spec->name;
        for (const auto & r : mt.result.results) {
            const auto & item = mt.result.items[r.item];
            const bool chat = mt.result.form == "chat";
            for (size_t c = 0; c < item.choices.size(); ++c) {
                const std::string choice =
                    chat ? item.choices[c].substr(item.choices[c].find_first_not_of(' ')) : item.choices[c];
                const auto alone = reference.loglikelihood({{r.context, choice, chat}});
                EXPECT_NEAR(alone[0].logprob, r.choices[c].logprob, 1e-2) << mt.spec->name << " " << item.id;
            }
        }
    }
    for (const auto & ml : run.layers) {
        Model model(ml.model.path);
        const auto direct = run_representation_task(model, *ml.spec);
        ASSERT_EQ(direct.layers.size(), ml.result.layers.size());
        for (size_t l = 0; l < direct.layers.size(); ++l) {
            for (const auto & [metric, value] : direct.layers[l].values) {
                const double got = ml.result.layers[l].values.at(metric);
                EXPECT_TRUE((std::isnan(value) && std::isnan(got)) || std::abs(value - got) < 1e-9)
                    << ml.spec->name << " layer " << l << " " << metric;
            }
        }
    }
}

TEST(SuiteRun, CompareGivesPairedDifferencesBetweenTwoRuns) {
    const std::string dir = test::temp_dir("suite-compare");
    const SuiteSpec both = load_suite_spec(write_toy_suite(dir, 60));
    std::map<std::string, std::map<std::string, bool>> correct;  // run -> item key -> correct
    for (size_t m = 0; m < 2; ++m) {
        SuiteSpec one = both;
        one.models = {both.models[m]};
        one.models[0].name = "model";  // different files, same name: pair per model
        ResultsStore store(dir + "/run" + std::to_string(m) + ".sqlite");
        const auto run = run_suite(one, store, {});
        export_suite_results(run, dir + "/run" + std::to_string(m));
        for (const auto & mt : run.results) {
            for (const auto & r : mt.result.results) {
                const auto & item = mt.result.items[r.item];
                correct[std::to_string(m)][mt.spec->name + "|" + item.id + "|" + r.variant] =
                    r.pred.at("acc") == item.gold;
            }
        }
    }
    const auto rows = compare_runs(dir + "/run0", dir + "/run1");
    ASSERT_EQ(rows.size(), 4U);  // 2 tasks x 2 prompt variants
    size_t n = 0;
    uint64_t only_a = 0;
    uint64_t only_b = 0;
    for (const auto & [key, a] : correct["0"]) {
        const bool b = correct["1"].at(key);
        only_a += a && !b ? 1 : 0;
        only_b += b && !a ? 1 : 0;
        ++n;
    }
    size_t rows_n = 0;
    uint64_t rows_a = 0;
    uint64_t rows_b = 0;
    for (const auto & r : rows) {
        rows_n += r.n;
        rows_a += r.only_a;
        rows_b += r.only_b;
        EXPECT_DOUBLE_EQ(r.p_mcnemar, mcnemar_exact_p(r.only_a, r.only_b));
        EXPECT_NEAR(r.difference.estimate, r.acc_a - r.acc_b, 1e-12);
        EXPECT_GE(r.p_holm, r.p_mcnemar);
    }
    EXPECT_EQ(rows_n, n);
    EXPECT_EQ(rows_a, only_a);
    EXPECT_EQ(rows_b, only_b);
}

pid_t start_run(const std::string & suite, const std::string & out) {
    const pid_t pid = fork();
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        freopen("/dev/null", "w", stderr);
        execl(test::compeval_binary().c_str(), "compeval", "run", suite.c_str(), "-o", out.c_str(), "--chunk", "40",
              "-t", "1", nullptr);
        _exit(127);
    }
    return pid;
}

TEST(SuiteRun, SigkillAtRandomMomentsThenResumeEqualsAnUninterruptedRun) {
    const std::string dir = test::temp_dir("suite-kill");
    const std::string suite = write_toy_suite(dir, 240);
    const auto clean =
        test::run_command(test::compeval_binary() + " run " + suite + " -o " + dir + "/clean --chunk 40 -t 1");
    ASSERT_EQ(clean.exit_code, 0) << clean.err;

    std::mt19937 rng(42);
    const std::string out = dir + "/killed";
    size_t kills = 0;
    for (int attempt = 0; attempt < 4; ++attempt) {
        const pid_t pid = start_run(suite, out);
        // The kill lands at a random moment of the scoring, not of the
        // process's start (loading a model takes a while on a busy machine).
        for (int wait = 0; wait < 600 && !std::filesystem::exists(out + "/results.sqlite"); ++wait) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 900));
        if (kill(pid, SIGKILL) == 0) {
            ++kills;
        }
        int status = 0;
        waitpid(pid, &status, 0);
    }
    const auto resumed =
        test::run_command(test::compeval_binary() + " run " + suite + " -o " + out + " --chunk 40 -t 1");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_GE(kills, 1U);
    EXPECT_GE(unfinished_runs(out + "/results.sqlite"), 1) << "no kill landed mid-run";

    const auto clean_rows = store_rows(dir + "/clean/results.sqlite");
    const auto resumed_rows = store_rows(out + "/results.sqlite");
    ASSERT_GT(clean_rows.size(), 500U);
    EXPECT_EQ(resumed_rows.size(), clean_rows.size());
    EXPECT_TRUE(resumed_rows == clean_rows) << "the resumed store differs from the uninterrupted one";

    // Nothing scored twice: every committed "scored" count is a new row.
    ResultsStore store(out + "/results.sqlite");
    int64_t scored = 0;
    for (const auto & [s, reused] : store.run_counters()) {
        scored += s;
    }
    EXPECT_EQ(static_cast<size_t>(scored), resumed_rows.size());
    EXPECT_EQ(test::read_file(out + "/summary.csv"), test::read_file(dir + "/clean/summary.csv"));
}

TEST(SuiteSpecErrors, RejectedBeforeScoringWithFileAndLine) {
    const std::string dir = test::temp_dir("suite-bad");
    write_toy_suite(dir, 10);
    const std::string model = test::model_path("tiny-f32");
    auto error_of = [&](const std::string & text) {
        std::ofstream(dir + "/bad.yaml") << text;
        try {
            load_suite_spec(dir + "/bad.yaml");
        } catch (const Error & e) {
            return std::string(e.what());
        }
        return std::string("<no error>");
    };
    const std::string head = "name: bad\ndata_dir: .\nmodels:\n";
    EXPECT_EQ(error_of(head + "  - {name: a, path: /nowhere/m.gguf}\ntasks: [toy.yaml]\n"),
              dir + "/bad.yaml:4: model 'a': /nowhere/m.gguf not found");
    EXPECT_EQ(
        error_of(head + "  - {name: a, path: " + model + "}\n  - {name: a, path: " + model + "}\ntasks: [toy.yaml]\n"),
        dir + "/bad.yaml:5: duplicate model name 'a'");
    EXPECT_EQ(error_of(head + "  - {name: a, path: " + model + ", variant: chat}\ntasks: [toy.yaml]\n"),
              dir + "/bad.yaml:4: model 'a': variant must be base or instruct, not 'chat'");
    EXPECT_EQ(error_of(head + "  - {name: a, path: " + model + ", group: g, seed: two}\ntasks: [toy.yaml]\n"),
              dir + "/bad.yaml:4: model 'a': seed must be a non-negative integer");
    EXPECT_EQ(error_of(head + "  - {name: a, path: " + model + ", group: g, seed: -1}\ntasks: [toy.yaml]\n"),
              dir + "/bad.yaml:4: model 'a': seed must be a non-negative integer");
    EXPECT_EQ(error_of(head + "  - {name: a, path: " + model + "}\ntasks: [toy.yaml, toy.yaml]\n"),
              dir + "/bad.yaml:5: duplicate task 'toy'");
    EXPECT_EQ(error_of(head + "  - {name: a, path: " + model + "}\ntasks: [missing.yaml]\n"),
              dir + "/missing.yaml: cannot open task file");
}

TEST(SuiteRun, CostIsMeasuredOnceAndKeptWhenARerunReusesEverything) {
    const std::string dir = test::temp_dir("suite-cost");
    const SuiteSpec suite = load_suite_spec(write_toy_suite(dir, 24));
    auto run_and_read_cost = [&] {
        ResultsStore store(dir + "/results.sqlite");
        export_suite_results(run_suite(suite, store, {}), dir + "/run");
        std::ifstream in(dir + "/run/cost.json");
        return nlohmann::json::parse(in);
    };
    const auto first = run_and_read_cost();
    ASSERT_EQ(first["models"].size(), 2U);
    for (const auto & m : first["models"]) {
        EXPECT_GT(m["load_seconds"].get<double>(), 0.0);
        EXPECT_GT(m["peak_rss_bytes"].get<double>(), 1e6);
        EXPECT_GT(m["file_bytes"].get<double>(), 1e6);
        ASSERT_EQ(m["tasks"].size(), 2U);
        for (const auto & t : m["tasks"]) {
            EXPECT_EQ(t["measured_requests"], t["unique_requests"]) << m["model"] << " " << t["task"];
            EXPECT_GT(t["seconds"].get<double>(), 0.0);
            EXPECT_GT(t["tokens_decoded"].get<double>(), 0.0);
        }
    }
    const auto again = run_and_read_cost();  // everything reused: nothing new is measured
    for (size_t m = 0; m < 2; ++m) {
        for (size_t t = 0; t < 2; ++t) {
            const auto & a = first["models"][m]["tasks"][t];
            const auto & b = again["models"][m]["tasks"][t];
            EXPECT_EQ(a["measured_requests"], b["measured_requests"]);
            EXPECT_DOUBLE_EQ(a["seconds"].get<double>(), b["seconds"].get<double>());
        }
    }
}

TEST(SuiteSpec, ATaskEntryMayNameItsOwnDataDir) {
    const std::string dir = test::temp_dir("suite-task-data-dir");
    write_toy_suite(dir, 10);
    std::ofstream(dir + "/own.yaml") << "name: own\ndata_dir: .\nmodels:\n  - {name: a, path: "
                                     << test::model_path("tiny-f32") << "}\ntasks:\n"
                                     << "  - toy.yaml\n  - {path: toy-mc.yaml, data_dir: elsewhere}\n";
    // The suite reads every task's data before it runs: without it, no suite.
    EXPECT_EQ(test::error_of([&] { load_suite_spec(dir + "/own.yaml"); }),
              dir + "/elsewhere/toy.tsv: cannot open data file");
    std::filesystem::create_directories(dir + "/elsewhere");
    std::filesystem::copy_file(dir + "/toy.tsv", dir + "/elsewhere/toy.tsv");
    const SuiteSpec suite = load_suite_spec(dir + "/own.yaml");
    ASSERT_EQ(suite.tasks.size(), 2U);
    EXPECT_EQ(suite.tasks[0].spec.splits[0].second, dir + "/toy.tsv");
    EXPECT_EQ(suite.tasks[1].spec.splits[0].second, dir + "/elsewhere/toy.tsv");
}

}  // namespace
}  // namespace compeval

namespace compeval {
namespace {

TEST(Report, FindingsMatchHandComputationsFromTheSamples) {
    const std::string dir = test::temp_dir("report");
    write_toy_suite(dir, 40);
    std::ofstream(dir + "/suite3.yaml") << "name: three\ndata_dir: .\nmodels:\n"
                                        << "  - {name: tiny, path: " << test::model_path("tiny-f32")
                                        << ", family: r, size: 4M, variant: base}\n"
                                        << "  - {name: small, path: " << test::model_path("small-f32")
                                        << ", family: r, size: 20M, variant: base}\n"
                                        << "  - {name: tiny-chat, path: "
                                        << test::model_path("chat-tiny-suite", kChatTemplate)
                                        << ", family: r, size: 4M, variant: instruct}\n"
                                        << "tasks: [toy.yaml]\n";
    const SuiteSpec suite = load_suite_spec(dir + "/suite3.yaml");
    ResultsStore store(dir + "/r.sqlite");
    const auto run = run_suite(suite, store, {});
    export_suite_results(run, dir + "/run");
    const auto report = build_report(dir + "/run");
    // Per-item correctness averaged over the two prompts, by hand.
    std::map<std::string, std::map<std::string, double>> item;  // model -> item id -> mean correct
    for (const auto & mt : run.results) {
        for (const auto & r : mt.result.results) {
            const auto & it = mt.result.items[r.item];
            item[mt.model.name][it.id] += (r.pred.at("acc") == it.gold ? 1.0 : 0.0) / 2.0;
        }
    }
    auto mean = [](const std::map<std::string, double> & m) {
        double s = 0;
        for (const auto & [k, v] : m) {
            s += v;
        }
        return s / static_cast<double>(m.size());
    };
    const auto & findings = report.data["findings"];
    ASSERT_EQ(findings.size(), 2U);
    for (const auto & f : findings) {
        if (f["comparison"] == "instruction tuning") {
            EXPECT_EQ(f["a"], "tiny-chat");
            EXPECT_NEAR(f["effect"].get<double>(), mean(item["tiny-chat"]) - mean(item["tiny"]), 1e-12);
        } else {
            EXPECT_EQ(f["a"], "small");
            const double x0 = std::log10(static_cast<double>(run.results[0].facts.n_params));
            const double x1 = std::log10(static_cast<double>(run.results[1].facts.n_params));
            EXPECT_NEAR(f["effect"].get<double>(), (mean(item["small"]) - mean(item["tiny"])) / (x1 - x0), 1e-9);
        }
        EXPECT_LE(f["low"].get<double>(), f["effect"].get<double>());
        EXPECT_GE(f["high"].get<double>(), f["effect"].get<double>());
        EXPECT_FALSE(f["verdict"].get<std::string>().empty());
    }
    // The Markdown shows the JSON's numbers.
    const std::string md = report_markdown(report);
    EXPECT_NE(md.find(fmt::format("{:+.3f}", findings[0]["effect"].get<double>())), std::string::npos);
}

}  // namespace
}  // namespace compeval
