// Running tasks end to end on real models: few-shot selection, prompt forms,
// per-item numbers against an independent recomputation through the engine
// API, and the built-in study tasks on the shared data.
#include "backends/chat_template.hpp"
#include "tasks/task_runner.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

namespace compeval {
namespace {

const char * kToyTask = R"(name: toy
category: test
data:
  format: tsv
  splits:
    test: "{data_dir}/test.tsv"
  keep: [kind]
fewshot:
  k: 2
  path: "{data_dir}/pool.tsv"
  seed: 7
scoring:
  mode: label_words
  label: label
  label_words:
    "1": " yes"
    "0": " no"
prompts:
  - name: question
    plain: "Q: is it true that {{text}}? A:"
    chat:
      user: "Is it true that {{text}}?"
  - name: claim
    plain: "Claim: {{text}}. True? A:"
    chat:
      user: "Claim: {{text}}. True?"
)";

struct ToyTask {
    std::string dir;
    TaskSpec spec;
};

ToyTask make_toy_task() {
    ToyTask t{test::temp_dir("toy-task"), {}};
    std::ofstream(t.dir + "/test.tsv") << "text\tlabel\tkind\n"
                                       << "a red apple is a fruit\t1\tI\n"
                                       << "a fake gun is a gun\t0\tO\n"
                                       << "a small elephant is an animal\t1\tN\n"
                                       << "a former president is a president\t0\tO\n";
    // The pool holds a copy of a test item: it must never be shown as a shot
    // for that item.
    std::ofstream(t.dir + "/pool.tsv") << "text\tlabel\tkind\n"
                                       << "a fake gun is a gun\t0\tO\n"
                                       << "a green leaf is a leaf\t1\tI\n"
                                       << "a toy car is a car\t0\tO\n"
                                       << "a wooden chair is a chair\t1\tI\n"
                                       << "a fictional city is a city\t0\tO\n";
    std::ofstream(t.dir + "/task.yaml") << kToyTask;
    t.spec = load_task_spec(t.dir + "/task.yaml", t.dir);
    return t;
}

TEST(TaskRunner, FewShotNeverShowsTheTestItemAndSharesOnePreamble) {
    const auto toy = make_toy_task();
    Model model(test::model_path("tiny-f32"));
    LoglikelihoodEngine engine(model, {});
    const auto result = run_task(engine, toy.spec, {PromptForm::Plain, 0});
    ASSERT_EQ(result.results.size(), 8U);  // 4 items x 2 variants
    std::set<std::string> preambles;
    for (const auto & r : result.results) {
        const auto & item = result.items[r.item];
        const auto last_shot_end = r.context.rfind("\n\n");
        ASSERT_NE(last_shot_end, std::string::npos) << r.context;
        const std::string shots = r.context.substr(0, last_shot_end);
        EXPECT_EQ(shots.find(item.fields.at("text")), std::string::npos) << "item " << item.id << " saw itself";
        EXPECT_EQ(std::count(shots.begin(), shots.end(), '\n'), 2) << r.context;  // k = 2 shots
        preambles.insert(shots);
    }
    // One shared preamble per variant, plus one variant where a shot was swapped.
    EXPECT_LE(preambles.size(), 4U);
}

TEST(TaskRunner, PerItemScoresMatchAnIndependentRecomputation) {
    const auto toy = make_toy_task();
    Model model(test::model_path("tiny-f32"));
    LoglikelihoodEngine engine(model, {});
    const auto result = run_task(engine, toy.spec, {PromptForm::Plain, 0});
    EngineOptions one_by_one;
    one_by_one.batch = 1;
    one_by_one.max_sequences = 2;
    LoglikelihoodEngine reference(model, one_by_one);
    std::map<std::pair<std::string, std::string>, double> correct;  // (split, variant) -> acc
    for (const auto & r : result.results) {
        const auto & item = result.items[r.item];
        double best = -1e300;
        int best_choice = -1;
        for (size_t c = 0; c < item.choices.size(); ++c) {
            const auto alone = reference.loglikelihood({{r.context, item.choices[c], false}});
            EXPECT_NEAR(alone[0].logprob, r.choices[c].logprob, 1e-4);
            const auto calib = reference.loglikelihood({{toy.spec.calibration_context, item.choices[c], false}});
            EXPECT_NEAR(calib[0].logprob, r.calibration[c], 1e-4);
            if (alone[0].logprob > best) {
                best = alone[0].logprob;
                best_choice = static_cast<int>(c);
            }
        }
        EXPECT_EQ(r.pred.at("acc"), best_choice);
        correct[{item.split, r.variant}] += best_choice == item.gold ? 0.25 : 0.0;
    }
    for (const auto & m : result.metrics) {
        if (m.variant != "mean") {
            EXPECT_DOUBLE_EQ(m.values.at("acc"), (correct[{m.split, m.variant}])) << m.variant;
        }
    }
    const auto & mean = result.metrics.back();
    EXPECT_EQ(mean.variant, "mean");
    EXPECT_DOUBLE_EQ(mean.values.at("acc"), (correct[{"test", "question"}] + correct[{"test", "claim"}]) / 2.0);
}

TEST(TaskRunner, InstructModelsAreScoredInsideTheirChatTemplate) {
    if (!chat_templates_available()) {
        GTEST_SKIP() << "built without llama.cpp's common library";
    }
    const auto toy = make_toy_task();
    Model chat_model(test::model_path("chat-tiny-markers",
                                      "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if "
                                      "add_generation_prompt %}<|assistant|>"
                                      "{% endif %}"));
    LoglikelihoodEngine engine(chat_model, {});
    const auto result = run_task(engine, toy.spec, {PromptForm::Auto, 0});
    EXPECT_EQ(result.form, "chat");
    for (const auto & r : result.results) {
        EXPECT_EQ(r.context.rfind("<|assistant|>"), r.context.size() - 13) << r.context;
        EXPECT_NE(r.context.find("<|user|>"), std::string::npos);
    }
    Model base(test::model_path("tiny-f16"));
    LoglikelihoodEngine base_engine(base, {});
    EXPECT_EQ(run_task(base_engine, toy.spec, {PromptForm::Auto, 0}).form, "plain");
    EXPECT_THROW(run_task(base_engine, toy.spec, {PromptForm::Chat, 0}), Error);
}

TEST(TaskRunner, MinimalPairsPreferTheMoreLikelySentence) {
    const std::string dir = test::temp_dir("minimal-pair");
    std::ofstream(dir + "/pairs.tsv") << "good\tbad\n"
                                      << "The red apple is a fruit.\tThe red apple is a vehicle.\n"
                                      << "A fake gun is not a gun.\tA fake gun not is a gun.\n"
                                      << "She reads a book.\tShe read a books.\n";
    std::ofstream(dir + "/task.yaml")
        << "name: pairs\ndata:\n  format: tsv\n  splits: {all: \"{data_dir}/pairs.tsv\"}\n"
           "scoring: {mode: minimal_pair, good: good, bad: bad}\n"
           "metrics: [acc, acc_norm_tok]\n"
           "prompts:\n  - {name: bare, plain: \"\"}\n  - {name: quoted, plain: \"Sentence:\"}\n";
    const TaskSpec spec = load_task_spec(dir + "/task.yaml", dir);
    Model model(test::model_path("tiny-f32"));
    LoglikelihoodEngine engine(model, {});
    const auto result = run_task(engine, spec, {PromptForm::Plain, 0});
    ASSERT_EQ(result.results.size(), 6U);
    for (const auto & r : result.results) {
        const auto & item = result.items[r.item];
        EXPECT_EQ(item.gold, 0);
        const auto good = engine.loglikelihood({{r.context, item.fields.at("good"), false}});
        const auto bad = engine.loglikelihood({{r.context, item.fields.at("bad"), false}});
        EXPECT_EQ(r.pred.at("acc"), good[0].logprob >= bad[0].logprob ? 0 : 1);
    }
}

TEST(BuiltinTasks, PlaneOodKeepsClassAndInferenceTypePerItem) {
    const std::string data = test::shared_data_dir();
    if (!std::filesystem::exists(data + "/plane/ood/OOV_test_1.tsv")) {
        GTEST_SKIP() << "shared data not found at " << data << " (PLANE test skipped)";
    }
    const TaskSpec spec = load_task_spec(test::source_dir() + "/tasks/plane-ood.yaml", data);
    Model model(test::model_path("tiny-f16"));
    LoglikelihoodEngine engine(model, {});
    const auto result = run_task(engine, spec, {PromptForm::Plain, 30});
    EXPECT_EQ(result.items.size(), 5U * 30U);
    EXPECT_EQ(result.results.size(), 2U * 5U * 30U);
    std::set<std::string> types;
    std::set<std::string> classes;
    for (const auto & item : result.items) {
        types.insert(item.fields.at("inference_type"));
        classes.insert(item.fields.at("adj_class"));
        // PLANE's labels follow from class and inference type (data README).
        const std::string & c = item.fields.at("adj_class");
        const std::string & t = item.fields.at("inference_type");
        const int expected = c == "I" ? 1 : c == "N" ? (t == "AN=>A-H" ? 0 : 1) : (t == "AN=>A-H" ? 1 : 0);
        EXPECT_EQ(item.gold == 0 ? 1 : 0, expected) << item.id << " " << item.fields.at("text");
    }
    EXPECT_EQ(types, (std::set<std::string>{"AN=>N", "AN=>H", "AN=>A-H"}));
    EXPECT_GE(classes.size(), 2U);
    for (const auto & m : result.metrics) {
        EXPECT_EQ(m.n, 30U);
        for (const auto & [metric, value] : m.values) {
            EXPECT_GE(value, 0.0);
            EXPECT_LE(value, 1.0);
        }
    }
}

TEST(BuiltinTasks, RnpcRankingPairsAnEntailedWithANonEntailedHypothesis) {
    const std::string data = test::shared_data_dir();
    if (!std::filesystem::exists(data + "/rnpc/SPTE.csv")) {
        GTEST_SKIP() << "shared data not found at " << data << " (RNPC test skipped)";
    }
    const TaskSpec spec = load_task_spec(test::source_dir() + "/tasks/rnpc-spte-ranking.yaml", data);
    const Table table = read_table(spec.splits[0].second, spec.table);
    std::map<std::string, std::string> label_of;  // premise + hypothesis -> label
    for (const auto & row : table.rows) {
        label_of[row.values[table.column("premise")] + "|" + row.values[table.column("hypothesis")]] =
            row.values[table.column("label")];
    }
    const auto items = load_task_items(spec, "spte", spec.splits[0].second);
    ASSERT_GT(items.size(), 50U);
    size_t gold_first = 0;
    for (const auto & item : items) {
        ASSERT_EQ(item.choices.size(), 2U);
        const auto & premise = item.fields.at("premise");
        const auto label = [&](int c) {
            return label_of.at(premise + "|" + item.choices[static_cast<size_t>(c)].substr(1));
        };
        EXPECT_EQ(label(item.gold), "entailment");
        EXPECT_EQ(label(1 - item.gold), "non-entailment");
        gold_first += item.gold == 0 ? 1 : 0;
    }
    EXPECT_NEAR(static_cast<double>(gold_first) / static_cast<double>(items.size()), 0.5, 0.01);
}

TEST(BuiltinTasks, AddOneRteReadsTheSevenColumnFormat) {
    const auto dir = test::temp_dir("addone");
    const std::string path = test::write_addone_fixture(dir);
    const std::string tasks = test::source_dir() + "/tasks/";

    const TaskSpec judge = load_task_spec(tasks + "addone-rte-judgement.yaml", dir);
    const auto items = load_task_items(judge, "test", path);
    // Test-split labels: <= 3 not entailed, >= 4 entailed, 3.5 left out.
    ASSERT_EQ(items.size(), 3U);
    EXPECT_EQ(items[0].fields.at("label"), "entailed");
    EXPECT_EQ(items[0].gold, 0);  // " yes"
    EXPECT_EQ(items[1].fields.at("label"), "not-entailed");
    EXPECT_EQ(items[2].line, 4U);
    EXPECT_EQ(items[2].fields.at("label"), "not-entailed");
    EXPECT_EQ(judge.prompts[0].plain.render(items[0].fields),
              "Premise: The runner set a record.\nHypothesis: The runner set a new record.\n"
              "Does the premise entail the hypothesis? Answer:");
    EXPECT_EQ(judge.prompts[1].plain.render(items[2].fields),
              "He held a gun . Question: does it follow that he held a fake gun? Answer:");

    // The same 3.5 in a training split is entailed (< 3.5 is the cut there).
    const auto train = load_task_items(judge, "train", path);
    ASSERT_EQ(train.size(), 4U);
    EXPECT_EQ(train[2].fields.at("label"), "entailed");

    const TaskSpec rank = load_task_spec(tasks + "addone-rte-ranking.yaml", dir);
    const auto pairs = load_task_items(rank, "test", path);
    ASSERT_EQ(pairs.size(), 1U);  // only s1's premise has both labels
    EXPECT_EQ(pairs[0].choices[static_cast<size_t>(pairs[0].gold)], " The runner set a new record.");
    EXPECT_EQ(pairs[0].choices[static_cast<size_t>(1 - pairs[0].gold)], " The runner set an old record.");

    Model model(test::model_path("tiny-f16"));
    LoglikelihoodEngine engine(model, {});
    const auto result = run_task(engine, judge, {PromptForm::Plain, 0});
    EXPECT_EQ(result.results.size(), 2U * 3U);
    EXPECT_EQ(sample_json(judge, result, result.results[0])["fields"]["label"], "entailed");

    std::ofstream(path) << "high\tentailed\ts1\tnew\trecord\tA <b><u>record</u></b>.\tA <b><u>new record</u></b>.\n";
    EXPECT_EQ(test::error_of([&] { load_task_items(judge, "test", path); }),
              path + ":1: field 'mean_human_score': 'high' is not a number");
}

}  // namespace
}  // namespace compeval
