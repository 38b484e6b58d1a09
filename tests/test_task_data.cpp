// Task data and task files: every malformed input is rejected before any
// scoring, naming file, line and field.
#include "data/table_reader.hpp"
#include "tasks/prompt_template.hpp"
#include "tasks/task_items.hpp"
#include "tasks/task_spec.hpp"
#include "test_support.hpp"
#include "util/error.hpp"
#include "util/utf8.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace compeval {
namespace {

using test::error_of;

using test::write;

TEST(TableReader, CsvQuotingAndHeaders) {
    const auto dir = test::temp_dir("table-csv");
    const auto path = write(dir, "a.csv", "id,text,label\n1,\"a, quoted \"\"phrase\"\"\",yes\n2,\"two\nlines\",no\n");
    const Table t = read_table(path, {TableFormat::Csv, {}, 0});
    ASSERT_EQ(t.rows.size(), 2U);
    EXPECT_EQ(t.rows[0].values[1], "a, quoted \"phrase\"");
    EXPECT_EQ(t.rows[1].values[1], "two\nlines");
    EXPECT_EQ(t.rows[1].line, 3U);
    EXPECT_EQ(t.column("label"), 2U);
}

TEST(TableReader, HeaderlessTsvWithGivenColumns) {
    const auto dir = test::temp_dir("table-tsv");
    const auto path = write(dir, "r.tsv", "snail\tmail\t0.5\t4.1\t1.2\n");
    const Table t = read_table(path, {TableFormat::Tsv, {"modifier", "head", "m", "h", "c"}, 0});
    ASSERT_EQ(t.rows.size(), 1U);
    EXPECT_EQ(t.rows[0].values[t.column("head")], "mail");
}

TEST(TableReader, MalformedRowsNameFileLineAndField) {
    const auto dir = test::temp_dir("table-bad");
    const auto ragged = write(dir, "ragged.tsv", "a\tb\n1\t2\n3\n");
    EXPECT_EQ(error_of([&] { read_table(ragged, {}); }), ragged + ":3: expected 2 fields, found 1");
    const auto utf8 = write(dir, "utf8.tsv", "a\tb\n1\tcaf\xC3\x28\n");
    EXPECT_EQ(error_of([&] { read_table(utf8, {}); }), utf8 + ":2: invalid UTF-8 in field 'b'");
    const auto quote = write(dir, "quote.csv", "a,b\n1,\"open\n");
    EXPECT_EQ(error_of([&] { read_table(quote, {TableFormat::Csv, {}, 0}); }), quote + ":2: unterminated quoted field");
    const auto jsonl = write(dir, "x.jsonl", "{\"a\": \"1\", \"b\": 2}\n{\"a\": \"3\"}\n");
    EXPECT_EQ(error_of([&] { read_table(jsonl, {TableFormat::Jsonl, {}, 0}); }), jsonl + ":2: missing field 'b'");
    EXPECT_EQ(error_of([&] { read_table(dir + "/none.tsv", {}); }), dir + "/none.tsv: cannot open data file");
}

TEST(TableReader, Utf8Validation) {
    EXPECT_TRUE(valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xC0\xAF"));      // overlong
    EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));  // surrogate
    EXPECT_FALSE(valid_utf8("\xE2\x82"));      // truncated
    // A generation cut inside a character keeps its valid part; the rest reads U+FFFD.
    EXPECT_EQ(replace_invalid_utf8("caf\xC3\xA9 \xE2\x82"), "caf\xC3\xA9 \xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(replace_invalid_utf8("\xEF"), "\xEF\xBF\xBD");
    EXPECT_TRUE(valid_utf8(replace_invalid_utf8("\xC0\xAF\xED\xA0\x80 ok")));
}

TEST(PromptTemplate, FieldsAndFilterChains) {
    const PromptTemplate t("Is it true that {{text|lower_first|no_period}}? {{ label }}");
    EXPECT_EQ(t.render({{"text", "A red apple is a fruit."}, {"label", "1"}}),
              "Is it true that a red apple is a fruit? 1");
    EXPECT_EQ(t.fields(), (std::vector<std::string>{"text", "label"}));
    EXPECT_THROW(PromptTemplate("{{text|shout}}"), Error);
    EXPECT_THROW(PromptTemplate("{{text"), Error);
    EXPECT_THROW(t.render({{"text", "x"}}), Error);
}

TEST(PlaneInferenceType, ReadFromTheText) {
    auto type = [](const char * text) {
        return plane_inference_type({{"text", text}, {"adjective", "red"}, {"noun", "apple"}, {"hypernym", "fruit"}});
    };
    EXPECT_EQ(type("A red apple is an apple"), "AN=>N");
    EXPECT_EQ(type("A red apple is a fruit"), "AN=>H");
    EXPECT_EQ(type("A red apple is a red fruit"), "AN=>A-H");
    EXPECT_EQ(type("A red apple is a car"), "");
}

const char * kGoodTask = R"(name: toy
data:
  format: tsv
  splits:
    test: "{data_dir}/toy.tsv"
scoring:
  mode: label_words
  label: label
  label_words:
    "1": " yes"
    "0": " no"
prompts:
  - name: q
    plain: "Is it true that {{text}}? Answer:"
)";

TEST(TaskSpec, LoadsAndExpandsTheDataDir) {
    const auto dir = test::temp_dir("spec-good");
    const TaskSpec spec = load_task_spec(write(dir, "t.yaml", kGoodTask), "/data");
    EXPECT_EQ(spec.name, "toy");
    EXPECT_EQ(spec.splits.at(0).second, "/data/toy.tsv");
    EXPECT_EQ(spec.metrics, known_metrics());
    ASSERT_EQ(spec.label_words.size(), 2U);
    EXPECT_EQ(spec.label_words[0].second, " yes");
}

TEST(TaskSpec, MalformedTaskFilesNameFileLineAndField) {
    const auto dir = test::temp_dir("spec-bad");
    const std::string good = kGoodTask;
    auto replaced = [&](const std::string & from, const std::string & to) {
        std::string s = good;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    const std::vector<std::pair<std::string, std::string>> cases = {
        {replaced("name: toy\n", ""), "t.yaml:1: missing field 'name'"},
        {replaced("mode: label_words", "mode: guess"), "t.yaml:7: unknown scoring mode 'guess'"},
        {replaced("{{text}}", "{{text|shout}}"), "t.yaml:14: field 'prompts[].plain': unknown filter 'shout'"},
        {replaced("    \"0\": \" no\"\n", ""), "t.yaml:10: field 'scoring.label_words' must map at least two"},
        {good + "metrics: [acc, f1]\n", "t.yaml:15: unknown metric 'f1'"},
        {good + "  - name: q\n    plain: \"x\"\n", "t.yaml:15: duplicate prompt name 'q'"},
        {replaced("format: tsv", "format: xlsx"), "t.yaml:3: unknown data format 'xlsx'"},
        {replaced("splits:", "splits: [oops"), "invalid YAML"},
        {replaced("scoring:", "  derive: {label: {from: score, bins: {\"1\": \"above 3\"}}}\nscoring:"),
         "t.yaml:6: field 'data.derive.label.bins': condition 'above 3' for '1' must be"},
        {replaced("scoring:",
                  "  derive: {label: {from: score, bins: {\"1\": \">= 3\"}, split_bins: {dev: "
                  "{\"0\": \"< 3\"}}}}\nscoring:"),
         "t.yaml:6: split_bins names 'dev', which is not a data split"},
        {replaced("scoring:", "  derive: {label: sentiment}\nscoring:"), "t.yaml:6: unknown derivation 'sentiment'"},
    };
    for (const auto & [text, expected] : cases) {
        const auto path = write(dir, "t.yaml", text);
        const auto e = error_of([&] { load_task_spec(path, "."); });
        EXPECT_NE(e.find(expected), std::string::npos) << "got: " << e << "\nexpected: " << expected;
        EXPECT_EQ(e.rfind(path, 0), 0U) << e;
    }
}

TEST(TaskItems, BadLabelsAndMissingColumnsAreRejectedBeforeScoring) {
    const auto dir = test::temp_dir("items-bad");
    const TaskSpec spec = load_task_spec(write(dir, "t.yaml", kGoodTask), dir);
    write(dir, "toy.tsv", "text\tlabel\na cat is an animal\t1\na fake gun is a gun\tmaybe\n");
    EXPECT_EQ(error_of([&] { load_task_items(spec, "test", dir + "/toy.tsv"); }),
              dir + "/toy.tsv:3: field 'label': label 'maybe' is not one of 1, 0");
    write(dir, "toy.tsv", "sentence\tlabel\na cat is an animal\t1\n");
    EXPECT_NE(error_of([&] {
                  load_task_items(spec, "test", dir + "/toy.tsv");
              }).find(dir + "/toy.tsv: no column 'text' (columns: sentence, label)"),
              std::string::npos);
}

}  // namespace
}  // namespace compeval
