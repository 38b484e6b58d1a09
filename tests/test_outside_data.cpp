// Data nobody here wrote: limits that draw a fair sample, task, suite,
// domain and zoo files that refuse unknown keys, ids and label words given
// twice, columns checked before any scoring, and the task-file features
// outside data sets need (JSON arrays, row filters, one item per group with
// the raters' distribution, a few-shot pool in its own layout, pairs whose
// winner is a label, format hints).
#include "backends/model.hpp"
#include "domains/domain_build.hpp"
#include "data/table_reader.hpp"
#include "runs/suite_spec.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/item_sample.hpp"
#include "tasks/task_items.hpp"
#include "tasks/task_runner.hpp"
#include "tasks/task_spec.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

namespace compeval {
namespace {

using test::error_of;

using test::write;

// A label task over a file sorted by label, as public files often are.
std::string label_task(const std::string & extra_data = "", const std::string & extra_scoring = "") {
    return "name: sorted\ndata:\n  format: tsv\n  splits:\n    test: \"{data_dir}/sorted.tsv\"\n" + extra_data +
           "scoring:\n  mode: label_words\n  label: label\n  label_words: {\"1\": \" yes\", \"0\": \" no\"}\n" +
           extra_scoring + "prompts:\n  - name: q\n    plain: \"{{text}}? Answer:\"\n";
}

std::string sorted_rows(size_t positives, size_t negatives) {
    std::string rows = "text\tlabel\n";
    for (size_t i = 0; i < positives + negatives; ++i) {
        rows += "sentence " + std::to_string(i) + "\t" + (i < positives ? "1" : "0") + "\n";
    }
    return rows;
}

TEST(ItemLimit, DrawsASeededStratifiedSampleNotTheFirstRows) {
    const auto dir = test::temp_dir("limit-sample");
    write(dir, "sorted.tsv", sorted_rows(150, 50));
    const TaskSpec spec = load_task_spec(write(dir, "t.yaml", label_task()), dir);
    const auto items = load_task_items(spec, "test", dir + "/sorted.tsv");
    auto labels = [](const std::vector<TaskItem> & kept) {
        size_t yes = 0;
        for (const auto & item : kept) {
            yes += item.gold == 0 ? 1 : 0;
        }
        return yes;
    };
    // The old behaviour, still there by name: the first 40 rows, all one label.
    const auto first = limit_items(items, {40, LimitOrder::File, 1}, spec.name, "test");
    EXPECT_EQ(labels(first), 40U);
    // The default: the file's 3:1 label ratio, in file order.
    const auto sample = limit_items(items, {40, LimitOrder::Sample, 1}, spec.name, "test");
    ASSERT_EQ(sample.size(), 40U);
    EXPECT_EQ(labels(sample), 30U);
    EXPECT_TRUE(
        std::is_sorted(sample.begin(), sample.end(), [](const auto & a, const auto & b) { return a.line < b.line; }));
    EXPECT_GT(sample.back().line, 152U) << "the sample must reach past the first rows";
    // The same rows every time (every model), other rows with another seed.
    auto ids = [](const std::vector<TaskItem> & kept) {
        std::vector<std::string> out;
        for (const auto & item : kept) {
            out.push_back(item.id);
        }
        return out;
    };
    EXPECT_EQ(ids(sample), ids(limit_items(items, {40, LimitOrder::Sample, 1}, spec.name, "test")));
    EXPECT_NE(ids(sample), ids(limit_items(items, {40, LimitOrder::Sample, 2}, spec.name, "test")));
    // Largest remainder: 7 of 200 at 3:1 is 5.25 + 1.75 -> 5 + 2.
    EXPECT_EQ(labels(limit_items(items, {7, LimitOrder::Sample, 1}, spec.name, "test")), 5U);
    // Through the runner, recorded with the results.
    Model model(test::model_path("tiny-f32"));
    TaskRunOptions options;
    options.form = PromptForm::Plain;
    options.limit = {40, LimitOrder::Sample, 9};
    const PreparedTask prepared = prepare_task(model, spec, options);
    EXPECT_EQ(labels(prepared.result.items), 30U);
    EXPECT_EQ(limit_json(prepared.result.limit).dump(), R"({"n":40,"order":"sample","seed":9})");
}

TEST(StrictFiles, UnknownKeysAreRefusedWithTheNearestKnownKey) {
    const auto dir = test::temp_dir("strict-keys");
    write(dir, "sorted.tsv", sorted_rows(3, 3));
    const std::string good = label_task("  keep: [text]\n", "  calibration: \"Answer:\"\n");
    auto replaced = [&](const std::string & from, const std::string & to) {
        std::string s = good;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {replaced("  keep:", "  kep:"), "t.yaml:6: unknown key 'kep' in data (did you mean 'keep'?)"},
        {replaced("  calibration:", "  calibraton:"),
         "t.yaml:11: unknown key 'calibraton' in scoring (mode label_words) (did you mean 'calibration'?)"},
        {good + "metric: [acc]\n", "t.yaml:15: unknown key 'metric' (did you mean 'metrics'?)"},
        {replaced("    plain:", "    plane:"), "t.yaml:14: unknown key 'plane' in prompts[] (did you mean 'plain'?)"},
        {good + "metrics: [acc_calibratd]\n",
         "t.yaml:15: unknown metric 'acc_calibratd' (did you mean 'acc_calibrated'?)"},
        {replaced("\"0\": \" no\"", "\"1\": \" no\""), "t.yaml:10: key '1' given twice"},
        {replaced("\"0\": \" no\"", "\"0\": \" yes\""), "gives the answer ' yes' to two labels"},
    };
    for (const auto & [text, expected] : cases) {
        const auto path = write(dir, "t.yaml", text);
        const auto e = error_of([&] { load_task_spec(path, dir); });
        EXPECT_EQ(e.rfind(path + ":", 0), 0U) << e;
        EXPECT_NE(e.find(expected), std::string::npos) << "got: " << e << "\nexpected: " << expected;
    }
    write(dir, "t.yaml", good);
    const std::string model = test::model_path("tiny-f32");
    const std::vector<std::pair<std::string, std::string>> suites = {
        {"name: s\nmodels:\n  - {name: a, pth: " + model + "}\ntasks: [t.yaml]\n",
         "s.yaml:3: unknown key 'pth' in models[] (did you mean 'path'?)"},
        {"name: s\ndata_dir: .\nmodels:\n  - {name: a, path: " + model + "}\ntasks:\n  - {path: t.yaml, limt: 5}\n",
         "s.yaml:6: unknown key 'limt' in tasks[] (did you mean 'limit'?)"},
        {"name: s\ndatadir: .\nmodels:\n  - {name: a, path: " + model + "}\ntasks: [t.yaml]\n",
         "s.yaml:2: unknown key 'datadir' (did you mean 'data_dir'?)"},
        {"name: s\ndata_dir: .\nmodels:\n  - {name: a, path: " + model +
             "}\ntasks:\n  - {path: t.yaml, limit: 5, limit_order: first}\n",
         "s.yaml:6: limit order must be sample or file, not 'first'"},
    };
    for (const auto & [text, expected] : suites) {
        const std::string & yaml = text;  // clang 14 cannot capture a structured binding
        const auto e = error_of([&] { load_suite_spec(write(dir, "s.yaml", yaml)); });
        EXPECT_EQ(e.rfind(dir + "/" + expected, 0), 0U) << e;
    }
    write(dir, "d.yaml",
          "name: d\nslots: {a: [x, y], b: [p, q]}\nlabel: {rules: [{when: {a: x}, label: ok}], defualt: bad}\n"
          "task: {label_words: {ok: \" yes\", bad: \" no\"}, prompts: [{name: q, plain: \"{{a}}\"}]}\n");
    EXPECT_EQ(error_of([&] {
                  load_domain_spec(dir + "/d.yaml");
              }).rfind(dir + "/d.yaml:3: unknown key 'defualt' in label (did you mean 'default'?)", 0),
              0U)
        << error_of([&] { load_domain_spec(dir + "/d.yaml"); });
}

TEST(StrictFiles, DuplicateIdsAndMissingColumnsAreRefusedBeforeAnyScoring) {
    const auto dir = test::temp_dir("strict-data");
    write(dir, "sorted.tsv", "id\ttext\tlabel\na\tone\t1\nb\ttwo\t0\na\tthree\t1\n");
    const TaskSpec with_ids = load_task_spec(write(dir, "t.yaml", label_task("  id: id\n")), dir);
    EXPECT_EQ(error_of([&] { check_task_data(with_ids); }),
              dir + "/sorted.tsv:4: item id 'a' is already the id of line 2 (ids come from column 'id')");

    // A suite whose second task lacks a column fails as it loads, naming the
    // task file's line and field and the data file's columns.
    write(dir, "good.tsv", "text\tlabel\none\t1\ntwo\t0\n");
    write(dir, "good.yaml", label_task().replace(label_task().find("sorted.tsv"), 10, "good.tsv"));
    std::string bad = label_task();
    bad.replace(bad.find("sorted.tsv"), 10, "good.tsv");
    bad.replace(bad.find("name: sorted"), 12, "name: other");
    bad.replace(bad.find("label: label"), 12, "label: verdict");
    write(dir, "bad.yaml", bad);
    write(dir, "s.yaml",
          "name: s\ndata_dir: .\nmodels:\n  - {name: a, path: " + test::model_path("tiny-f32") +
              "}\ntasks: [good.yaml, bad.yaml]\n");
    EXPECT_EQ(error_of([&] { load_suite_spec(dir + "/s.yaml"); }),
              dir + "/bad.yaml:8: field 'scoring.label' needs column 'verdict': " + dir +
                  "/good.tsv: no column 'verdict' (columns: text, label)");
}

TEST(StrictFiles, AHeaderOfAnotherFormatSaysSo) {
    const auto dir = test::temp_dir("format-hint");
    write(dir, "sorted.tsv", "text,label\none,1\ntwo,0\n");
    const TaskSpec spec = load_task_spec(write(dir, "t.yaml", label_task()), dir);
    EXPECT_NE(error_of([&] {
                  check_task_data(spec);
              }).find("no column 'text' (columns: text,label); the header looks comma-separated: is data.format csv?"),
              std::string::npos);
    write(dir, "sorted.tsv", "{\"text\": \"one\", \"label\": \"1\"}\n");
    EXPECT_NE(error_of([&] { check_task_data(spec); }).find("the file looks like JSON lines: is data.format jsonl?"),
              std::string::npos);
}

TEST(TaskFileFeatures, AJsonArrayIsReadWithTheLineOfEachObject) {
    const auto dir = test::temp_dir("json-array");
    const auto path = write(dir, "a.json",
                            "[\n  {\"text\": \"one, \\\"quoted\\\" [x]\", \"label\": 1, \"score\": 2.5},\n"
                            "  {\"text\": \"two\",\n   \"label\": 0, \"score\": 3}\n]\n");
    const Table t = read_table(path, {TableFormat::Json, {}, 0});
    ASSERT_EQ(t.rows.size(), 2U);
    EXPECT_EQ(t.columns, (std::vector<std::string>{"label", "score", "text"}));
    EXPECT_EQ(t.rows[0].values[2], "one, \"quoted\" [x]");
    EXPECT_EQ(t.rows[0].values[1], "2.5");
    EXPECT_EQ(t.rows[0].line, 2U);
    EXPECT_EQ(t.rows[1].line, 3U);
    write(dir, "b.json", "[{\"text\": \"a\", \"label\": 1},\n {\"text\": \"b\"}]");
    EXPECT_EQ(error_of([&] {
                  read_table(dir + "/b.json", {TableFormat::Json, {}, 0});
              }),
              dir + "/b.json:2: missing field 'label'");
    write(dir, "c.json", "{\"data\": []}");
    EXPECT_EQ(error_of([&] {
                  read_table(dir + "/c.json", {TableFormat::Json, {}, 0});
              }),
              dir + "/c.json: data.format json expects one array of objects; the file holds an object (keys: data)");
    write(dir, "d.json", "{\"text\": \"a\"}\n{\"text\": \"b\"}\n");
    EXPECT_NE(error_of([&] {
                  read_table(dir + "/d.json", {TableFormat::Json, {}, 0});
              }).find("invalid JSON"),
              std::string::npos);
}

TEST(TaskFileFeatures, WhereFiltersRowsAndNamesItsOwnMistakes) {
    const auto dir = test::temp_dir("where");
    write(dir, "sorted.tsv", "text\tlabel\tclass\tscore\na\t1\tI\t4.5\nb\t0\tNA\t1\nc\t0\tO\t2.5\nd\t1\tI\t3\n");
    auto items_with = [&](const std::string & where) {
        return load_task_items(load_task_spec(write(dir, "t.yaml", label_task("  where:\n" + where)), dir), "test",
                               dir + "/sorted.tsv");
    };
    EXPECT_EQ(items_with("    class: {not: NA}\n").size(), 3U);
    EXPECT_EQ(items_with("    class: [I, O]\n    score: \">= 3\"\n").size(), 2U);
    EXPECT_EQ(items_with("    class: O\n").front().fields.at("text"), "c");
    EXPECT_EQ(error_of([&] { items_with("    clas: {not: NA}\n"); }),
              dir + "/t.yaml:7: field 'data.where.clas' needs column 'clas': " + dir +
                  "/sorted.tsv: no column 'clas' (columns: text, label, class, score)");
    EXPECT_EQ(error_of([&] { items_with("    class: N/A\n"); }),
              dir + "/t.yaml:7: data.where keeps none of the 4 rows of " + dir + "/sorted.tsv");
    EXPECT_EQ(error_of([&] { items_with("    class: \"< 3\"\n"); }),
              dir + "/sorted.tsv:2: field 'class': 'I' is not a number (class < 3)");
}

// One row per rater: one item per phrase, the majority as gold, the raters'
// counts as the human distribution, compared with the model's softmax.
TEST(TaskFileFeatures, GroupByGivesOneItemPerGroupAndTheDistributionMetric) {
    const auto dir = test::temp_dir("group-by");
    write(dir, "ratings.csv",
          "phrase,rater,judgment\nred apple,r1,yes\nred apple,r2,yes\nred apple,r3,no\n"
          "fake gun,r1,no\nfake gun,r2,no\nfake gun,r3,no\nfake gun,r4,yes\nold friend,r1,yes\nold friend,r2,no\n");
    const std::string task =
        "name: raters\ndata:\n  format: csv\n  splits: {test: \"{data_dir}/ratings.csv\"}\n  group_by: phrase\n"
        "scoring:\n  mode: label_words\n  label: judgment\n  label_words: {\"yes\": \" yes\", \"no\": \" no\"}\n"
        "metrics: [acc, distribution]\nprompts:\n  - name: q\n    plain: \"Is a {{phrase}} what it says? Answer:\"\n";
    const TaskSpec spec = load_task_spec(write(dir, "t.yaml", task), dir);
    EXPECT_TRUE(spec.distribution);
    Model model(test::model_path("tiny-f32"));
    LoglikelihoodEngine engine(model, {});
    const TaskResult result = run_task(engine, spec, {PromptForm::Plain, 0});
    ASSERT_EQ(result.items.size(), 3U);
    EXPECT_EQ(result.items[0].id, "red apple");
    EXPECT_EQ(result.items[0].human, (std::vector<double>{2, 1}));
    EXPECT_EQ(result.items[0].gold, 0);  // majority yes
    EXPECT_EQ(result.items[1].human, (std::vector<double>{1, 3}));
    EXPECT_EQ(result.items[1].gold, 1);
    EXPECT_EQ(result.items[2].gold, 0);  // a tie goes to the earlier label word
    double tv_sum = 0;
    for (const auto & r : result.results) {
        const auto & item = result.items[r.item];
        ASSERT_TRUE(r.distribution.has_value());
        const double p_yes = 1.0 / (1.0 + std::exp(r.choices[1].logprob - r.choices[0].logprob));
        const double h_yes = item.human[0] / (item.human[0] + item.human[1]);
        EXPECT_NEAR(r.distribution->total_variation, std::abs(p_yes - h_yes), 1e-12);
        EXPECT_GE(r.distribution->jensen_shannon, 0.0);
        EXPECT_LE(r.distribution->jensen_shannon, r.distribution->total_variation + 1e-12);  // JS <= TV (bits)
        tv_sum += std::abs(p_yes - h_yes);
        const auto line = sample_json(spec, result, r);
        EXPECT_EQ(line["human"], nlohmann::json(item.human));
        EXPECT_EQ(line["rows"], item.rows);
    }
    EXPECT_NEAR(result.metrics.back().values.at("distribution_tv"), tv_sum / 3.0, 1e-12);

    // Rows of one group that would prompt differently are refused.
    write(dir, "ratings.csv", "phrase,rater,judgment,sentence\nred apple,r1,yes,A\nred apple,r2,no,B\n");
    std::string reads_sentence = task;
    reads_sentence.replace(reads_sentence.find("{{phrase}}"), 10, "{{sentence}}");
    const TaskSpec spec2 = load_task_spec(write(dir, "t2.yaml", reads_sentence), dir);
    EXPECT_EQ(error_of([&] { check_task_data(spec2); }),
              dir +
                  "/ratings.csv:3: group 'red apple' (data.group_by) has 'B' in column 'sentence' where its line 2 "
                  "has 'A': the prompt and choices must be the same for a group");
    std::string no_group = task;
    no_group.replace(no_group.find("  group_by: phrase\n"), 19, "");
    EXPECT_NE(error_of([&] { load_task_spec(write(dir, "t3.yaml", no_group), dir); }).find("needs data.group_by"),
              std::string::npos);
}

TEST(TaskFileFeatures, AFewShotPoolInItsOwnLayout) {
    const auto dir = test::temp_dir("fewshot-layout");
    write(dir, "sorted.tsv", "text\tlabel\nsentence a\t1\nsentence b\t0\n");
    write(dir, "train.csv",
          "premise,gold\n\"pool one, with a comma\",entailed\npool two,not_entailed\npool three,entailed\n"
          "pool four,dropped\n");
    const std::string task = label_task() +
                             "fewshot:\n  k: 2\n  path: \"{data_dir}/train.csv\"\n  format: csv\n"
                             "  map: {text: premise, label: gold}\n  labels: {entailed: \"1\", not_entailed: \"0\"}\n"
                             "  where: {gold: {not: dropped}}\n";
    const TaskSpec spec = load_task_spec(write(dir, "t.yaml", task), dir);
    const auto pool = load_fewshot_items(spec);
    ASSERT_EQ(pool.size(), 3U);
    EXPECT_EQ(pool[0].fields.at("text"), "pool one, with a comma");
    EXPECT_EQ(pool[1].gold, 1);  // not_entailed -> "0" -> " no"
    Model model(test::model_path("tiny-f32"));
    const PreparedTask prepared = prepare_task(model, spec, {PromptForm::Plain, 0});
    for (const auto & r : prepared.result.results) {
        EXPECT_EQ(std::count(r.context.begin(), r.context.end(), '\n'), 4) << r.context;  // two shots
        EXPECT_NE(r.context.find("pool "), std::string::npos) << r.context;
    }
}

// A three-way comparison: which sentence is more plausible, or neither.
TEST(TaskFileFeatures, PairComparisonWithALabelledWinnerAndAnEqualMargin) {
    const auto dir = test::temp_dir("pair-comparison");
    write(dir, "pairs.tsv",
          "a\tb\twinner\nThe cat sat on the mat.\tMat the on sat cat the.\tfirst\n"
          "Mat the on sat cat the.\tThe cat sat on the mat.\tsecond\nThe dog ran.\tThe dog ran.\tsame\n");
    const std::string task =
        "name: plausible\ndata:\n  format: tsv\n  splits: {test: \"{data_dir}/pairs.tsv\"}\n"
        "scoring:\n  mode: pair_comparison\n  first: a\n  second: b\n  label: winner\n  first_wins: first\n"
        "  second_wins: second\n  equal: same\n  margin: 0.5\nmetrics: [acc]\nprompts:\n  - name: s\n    plain: \"\"\n";
    const TaskSpec spec = load_task_spec(write(dir, "t.yaml", task), dir);
    Model model(test::model_path("tiny-f32"));
    LoglikelihoodEngine engine(model, {});
    const TaskResult result = run_task(engine, spec, {PromptForm::Plain, 0});
    ASSERT_EQ(result.results.size(), 3U);
    EXPECT_EQ(result.items[0].gold, 0);
    EXPECT_EQ(result.items[1].gold, 1);
    EXPECT_EQ(result.items[2].gold, 2);
    for (const auto & r : result.results) {
        const double gap = r.choices[0].logprob - r.choices[1].logprob;
        const int expected = std::abs(gap) <= 0.5 ? 2 : gap > 0 ? 0 : 1;
        EXPECT_EQ(r.pred.at("acc"), expected) << gap;
        EXPECT_EQ(sample_json(spec, result, r)["outcomes"], nlohmann::json({"first", "second", "same"}));
    }
    EXPECT_EQ(result.results[2].pred.at("acc"), 2);  // the same sentence twice: equal
    // The two orders of one pair are each other's mirror image.
    EXPECT_NEAR(result.results[0].choices[0].logprob, result.results[1].choices[1].logprob, 1e-4);
    std::string no_margin = task;
    no_margin.replace(no_margin.find("  margin: 0.5\n"), 14, "");
    EXPECT_NE(
        error_of([&] { load_task_spec(write(dir, "t2.yaml", no_margin), dir); }).find("missing field 'scoring.margin'"),
        std::string::npos);
}

}  // namespace
}  // namespace compeval

namespace compeval {
namespace {

// The "Bringing your own data set" files (docs/tasks.md), as a user runs them: a
// suite over the three, then the report, with the distribution table.
TEST(OwnDataExamples, TheReadmeFilesRunThroughRunAndReport) {
    const std::string dir = test::temp_dir("own-data-examples");
    const std::string examples = test::source_dir() + "/examples/own-data";
    std::ofstream(dir + "/suite.yaml") << "name: own\ndata_dir: " << examples << "\nmodels:\n"
                                       << "  - {name: tiny, path: " << test::model_path("tiny-f32") << "}\n"
                                       << "tasks:\n  - " << examples << "/entailment-json.yaml\n  - " << examples
                                       << "/plausibility-raters.yaml\n  - {path: " << examples
                                       << "/comparison-filtered.yaml, limit: 3}\n";
    const auto run = test::run_command(test::compeval_binary() + " run " + dir + "/suite.yaml -o " + dir + "/run");
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const auto report = test::run_command(test::compeval_binary() + " report " + dir + "/run");
    ASSERT_EQ(report.exit_code, 0) << report.err;
    const std::string md = test::read_file(dir + "/run/report.md");
    EXPECT_NE(md.find("## Human answer distributions"), std::string::npos);
    EXPECT_NE(md.find("| tiny | own-plausibility | test | 5 |"), std::string::npos) << md;
    std::ifstream in(dir + "/run/summary.json");
    const auto summary = nlohmann::json::parse(in);
    std::map<std::string, size_t> items;
    for (const auto & row : summary) {
        if (row["prompt"] != "mean") {
            items[row["task"].get<std::string>()] = row["n"].get<size_t>();
        }
        EXPECT_EQ(row.contains("limit"), row["task"] == "own-comparison") << row.dump();
    }
    EXPECT_EQ(items["own-entailment"], 6U);    // six objects of the JSON array
    EXPECT_EQ(items["own-plausibility"], 5U);  // 15 rater rows, 5 phrases
    EXPECT_EQ(items["own-comparison"], 3U);    // 5 rows after the filter, limited to 3
}

}  // namespace
}  // namespace compeval
