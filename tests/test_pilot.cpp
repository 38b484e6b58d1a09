// The pilot (domain file -> decision in one call), the lab trained on a
// domain, the Japanese worked domain, and the run's planned progress.
#include "backends/model.hpp"
#include "domains/domain_build.hpp"
#include "lab/lab_corpus.hpp"
#include "lab/trainer.hpp"
#include "lab/zoo.hpp"
#include "pilot/pilot.hpp"
#include "runs/suite_plan.hpp"
#include "runs/suite_runner.hpp"
#include "tasks/task_prompts.hpp"
#include "tasks/task_spec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace compeval {
namespace {

std::string source_path(const std::string & relative) {
    return test::source_dir() + "/" + relative;
}

std::map<std::string, size_t> label_counts(const std::vector<DomainItem> & items) {
    std::map<std::string, size_t> counts;
    for (const auto & i : items) {
        ++counts[i.label];
    }
    return counts;
}

TEST(JapaneseDomain, SplitsAndRendersLikeTheEnglishOne) {
    const auto en = load_domain_spec(source_path("domains/factory.yaml"));
    const auto ja = load_domain_spec(source_path("domains/factory-ja.yaml"));
    const auto en_items = generate_domain_items(en);
    const auto ja_items = generate_domain_items(ja);
    ASSERT_EQ(ja_items.size(), en_items.size());
    // The same rules over translated names: as many defects and as many fine parts.
    const auto en_counts = label_counts(en_items);
    const auto ja_counts = label_counts(ja_items);
    EXPECT_EQ(ja_counts.at("不良"), en_counts.at("defect"));
    EXPECT_EQ(ja_counts.at("良品"), en_counts.at("fine"));

    const std::string dir = test::temp_dir("domain-ja");
    const auto build = build_domain(ja, dir);
    EXPECT_GT(build.split.test.size(), 0U);
    std::set<std::string> seen_atoms;
    for (const size_t i : build.split.train) {
        seen_atoms.insert(build.items[i].atoms.begin(), build.items[i].atoms.end());
    }
    for (const size_t i : build.split.test) {
        for (const auto & a : build.items[i].atoms) {
            EXPECT_TRUE(seen_atoms.contains(a)) << a << " of an unseen combination never seen";
        }
    }
    const TaskSpec task = load_task_spec(dir + "/task.yaml", dir);
    const auto items = load_limited_items(task, {});
    ASSERT_EQ(items.size(), ja_items.size());
    EXPECT_EQ(items.front().choices.size(), 2U);
    const std::string prompt = task.prompts.front().plain.render(items.front().fields);
    EXPECT_NE(prompt.find("部品：" + items.front().fields.at("部品")), std::string::npos) << prompt;
}

// A zoo file small enough for a test: one size, two seeds, one instruct ratio.
std::string tiny_domain_zoo(const std::string & dir) {
    return test::write(dir, "zoo.yaml",
                       "name: tiny-domain\ndocuments: 240\nsizes: [50k]\nseeds: [1, 2]\nepochs: 1\nthreads: 1\n"
                       "instruct: {ratios: [0.5], epochs: 1}\n");
}

TEST(DomainCorpus, TrainsOnSeenCombinationsOnlyInTheTaskOwnPromptForm) {
    const std::string dir = test::temp_dir("domain-corpus");
    const auto corpus = domain_corpus({source_path("domains/factory-ja.yaml"), 200, 20, 3}, dir);
    ModelOptions vocab_only;
    vocab_only.vocab_only = true;
    const Model tokenizer(dir + "/tokenizer.gguf", vocab_only);
    // Japanese text cuts into whole pieces: a value is one token, not bytes.
    for (const char * value : {"ポリカーボネート", "アルミニウム", "積層造形"}) {
        EXPECT_EQ(tokenizer.tokenize(std::string("材料：") + value, false).size(), 3U) << value;
    }
    const TaskSpec task = load_task_spec(dir + "/task.yaml", dir);
    std::string training;
    for (const auto & doc : corpus.train) {
        training += tokenizer.detokenize({doc.begin(), doc.end()}) + "\x1f";
    }
    for (const auto & doc : corpus.instructions(50, false, 9)) {
        training += tokenizer.detokenize({doc.begin(), doc.end()}) + "\x1f";
    }
    size_t seen_found = 0;
    size_t seen_total = 0;
    for (const auto & item : load_limited_items(task, {})) {
        for (const auto & v : task.prompts) {
            const std::string plain = v.plain.render(item.fields);
            const bool found = training.find(plain) != std::string::npos ||
                               training.find(v.chat_user.render(item.fields)) != std::string::npos;
            if (item.split == "unseen") {
                EXPECT_FALSE(found) << "an unseen combination was trained on: " << plain;
            } else {
                seen_found += found ? 1 : 0;
                ++seen_total;
            }
        }
    }
    EXPECT_GT(seen_found, seen_total / 2) << "documents cover the seen combinations";
    // A document reads as the task's prompts: the plain answer follows "答え：".
    const std::string first = tokenizer.detokenize({corpus.train[0].begin(), corpus.train[0].end()});
    EXPECT_TRUE(first.find("答え：はい") != std::string::npos || first.find("答え：いいえ") != std::string::npos)
        << first;
    EXPECT_GT(corpus.n_ctx, 64);
}

// The zoo a pilot trains by itself is the one lab/zoo-factory.yaml documents
// (the binary cannot read the repository's file at run time, so the two are kept equal here).
TEST(Pilot, BuiltInZooHasTheSettingsOfTheFactoryZooFile) {
    const std::string dir = test::temp_dir("pilot-default-zoo");
    const auto built_in =
        load_zoo_config(test::write(dir, "zoo.yaml", default_pilot_zoo(source_path("domains/factory.yaml"))));
    const auto file = load_zoo_config(source_path("lab/zoo-factory.yaml"));
    EXPECT_EQ(built_in.domain, file.domain);
    EXPECT_EQ(built_in.documents, file.documents);
    EXPECT_EQ(built_in.sizes, file.sizes);
    EXPECT_EQ(built_in.seeds, file.seeds);
    EXPECT_EQ(built_in.train.epochs, file.train.epochs);
    EXPECT_EQ(built_in.threads, file.threads);
    EXPECT_EQ(built_in.instruct.ratios, file.instruct.ratios);
    EXPECT_EQ(built_in.instruct.epochs, file.instruct.epochs);
    EXPECT_EQ(built_in.instruct.learning_rate, file.instruct.learning_rate);
    EXPECT_EQ(built_in.quantize, file.quantize);
}

TEST(Pilot, TrainsAZooOnTheDomainAndResumes) {
    const std::string dir = test::temp_dir("pilot-zoo");
    PilotOptions options;
    options.domain = source_path("domains/factory.yaml");
    options.out = dir + "/run";
    options.zoo_dir = dir + "/zoo";
    options.zoo_config = tiny_domain_zoo(dir);
    options.report.iterations = 200;
    const auto first = run_pilot(options);
    EXPECT_EQ(first.combinations, 288U);
    EXPECT_EQ(first.seen + first.unseen, 288U);
    const auto & data = first.report.report.data;
    // Four models (2 seeds x base and instruct), each on seen and unseen combinations.
    std::set<std::string> models;
    for (const auto & t : data["tasks"]) {
        models.insert(t["model"].get<std::string>());
        std::set<std::string> splits;
        for (const auto & a : t["accuracy_mean_over_prompts"]) {
            splits.insert(a["split"].get<std::string>());
        }
        EXPECT_EQ(splits, (std::set<std::string>{"seen", "unseen"}));
    }
    EXPECT_EQ(models, (std::set<std::string>{"50k-s1", "50k-s2", "50k-s1-it0.5", "50k-s2-it0.5"}));
    const std::string summary = pilot_summary(data);
    EXPECT_NE(summary.find("50k (2 seeds)"), std::string::npos) << summary;
    EXPECT_NE(summary.find("instruction tuning 50k-it0.5 vs 50k"), std::string::npos) << summary;
    EXPECT_NE(summary.find("Recommendation:"), std::string::npos) << summary;
    // What goes to a person: the recipes' rows on unseen combinations and its sentence in the recommendation.
    EXPECT_NE(summary.find("Confidence and review on unseen combinations (at <= 1% errors):"), std::string::npos)
        << summary;
    ASSERT_EQ(data["calibration"]["sentences"].size(), 2U);  // 50k and 50k-it0.5, seeds pooled
    for (const auto & s : data["calibration"]["sentences"]) {
        EXPECT_NE(summary.find("  - " + s.get<std::string>() + "\n"), std::string::npos) << summary;
        EXPECT_NE(s.get<std::string>().find("unseen combinations"), std::string::npos) << s;
    }

    // Again: the zoo is reused and every request comes from the store, with
    // the same numbers (only the measured load times differ).
    const auto again = run_pilot(options);
    EXPECT_EQ(again.run.scored, 0U);
    EXPECT_GT(again.run.reused, 0U);
    for (const char * section : {"findings", "recipes", "tasks", "calibration"}) {
        EXPECT_EQ(again.report.report.data[section], data[section]) << section;
    }
}

TEST(Pilot, ComparesGivenModelsAndSummarizesInJapanese) {
    const std::string dir = test::temp_dir("pilot-models");
    const std::string base = test::model_path("tiny-f32");
    const std::string chat = test::model_path("chat-tiny-suite", test::kChatTemplate);
    const std::string suite = test::write(dir, "models.yaml",
                                          "name: given\nmodels:\n  - {name: chat, path: " + chat +
                                              ", family: random, size: 4M, variant: instruct}\n"
                                              "tasks: []\n");
    PilotOptions options;
    options.domain = source_path("domains/factory-ja.yaml");
    options.models = {base, suite};
    options.out = dir + "/run";
    options.report.iterations = 200;
    options.report.lang = "ja";
    const auto result = run_pilot(options);
    const auto & data = result.report.report.data;
    EXPECT_EQ(data.value("lang", ""), "ja");
    std::set<std::string> models;
    for (const auto & t : data["tasks"]) {
        models.insert(t["model"].get<std::string>());
    }
    EXPECT_EQ(models, (std::set<std::string>{"tiny-f32", "chat"}));
    const std::string summary = pilot_summary(data);
    EXPECT_NE(summary.find("未見"), std::string::npos) << summary;
    EXPECT_NE(summary.find("tiny-f32"), std::string::npos) << summary;
    EXPECT_NE(summary.find("推奨:"), std::string::npos) << summary;
    EXPECT_NE(summary.find("未見の組み合わせでの確信度と人の確認 (誤り 1% 以下):"), std::string::npos) << summary;
    // A model file that is not there, or an argument that is neither, is refused by name.
    options.models = {dir + "/missing.gguf"};
    EXPECT_THROW(run_pilot(options), Error);
    options.models = {dir + "/notes.txt"};
    EXPECT_THROW(run_pilot(options), Error);
}

TEST(SuiteProgress, CountsModelsAndTasksAndPlansTheTokensDecoded) {
    const std::string dir = test::temp_dir("suite-progress");
    const std::string domain_dir = dir + "/domain";
    build_domain(load_domain_spec(source_path("domains/factory.yaml")), domain_dir);
    const std::string suite_path = test::write(
        dir, "suite.yaml",
        "name: progress\nmodels:\n  - {name: a, path: " + test::model_path("tiny-f32") +
            "}\n  - {name: b, path: " + test::model_path("tiny-f16") + "}\ntasks:\n  - {path: " + domain_dir +
            "/task.yaml, data_dir: " + domain_dir + ", limit: 30, answer: [loglikelihood, first_token]}\n");
    const SuiteSpec suite = load_suite_spec(suite_path);
    ResultsStore store(dir + "/results.sqlite");
    std::vector<SuiteProgress> events;
    SuiteRunOptions options;
    options.chunk = 16;
    options.progress = [&](const SuiteProgress & p) { events.push_back(p); };
    run_suite(suite, store, options);
    ASSERT_FALSE(events.empty());
    std::vector<std::pair<size_t, size_t>> steps;
    for (const auto & e : events) {
        EXPECT_EQ(e.models, 2U);
        EXPECT_EQ(e.tasks, 2U);
        EXPECT_LE(e.done, e.total);
        EXPECT_TRUE(e.suite_tokens_known);
        EXPECT_LE(e.suite_tokens_done, e.suite_tokens);
        if (steps.empty() || steps.back() != std::pair{e.model, e.task}) {
            steps.emplace_back(e.model, e.task);
            EXPECT_EQ(e.done, e.reused) << "a task begins with only what the store held";
        }
    }
    EXPECT_EQ(steps, (std::vector<std::pair<size_t, size_t>>{{1, 1}, {1, 2}, {2, 1}, {2, 2}}));
    EXPECT_EQ(events.back().done, events.back().total);
    // The plan is what the run decoded: the chunks' prefix trees, and the answers' share.
    EXPECT_EQ(events.back().suite_tokens_done, events.back().suite_tokens);
    EXPECT_GT(events.back().suite_tokens, 0U);
    // The plan's requests are every step's (the store was empty); the requests'
    // own tokens outnumber what is decoded, as the label words share their context.
    std::map<std::pair<size_t, size_t>, size_t> totals;
    for (const auto & e : events) {
        totals[{e.model, e.task}] = e.total;
    }
    size_t requests = 0;
    for (const auto & [step, total] : totals) {
        requests += total;
    }
    EXPECT_EQ(events.back().suite_requests, requests);
    EXPECT_GT(events.back().suite_tokens_requested, events.back().suite_tokens);

    // Resumed with everything stored: nothing is planned, every task begins done.
    const auto plan = plan_suite(suite, store, options.chunk);
    EXPECT_EQ(plan.tokens(), 0U);
    EXPECT_EQ(plan.tokens_requested(), 0U);
    EXPECT_EQ(plan.requests(), 0U);
    events.clear();
    run_suite(suite, store, options);
    for (const auto & e : events) {
        EXPECT_EQ(e.done, e.total);
        EXPECT_EQ(e.suite_tokens, 0U);
    }
}

}  // namespace
}  // namespace compeval
