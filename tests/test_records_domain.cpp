// Domains from a line's own records (an inspection log): observed
// combinations only, repeated and disagreeing rows counted, the majority and
// its tie rule, the date split, the noise ceiling, master tables, and every
// kind of bad row named by file and line.
#include "analysis/observed_outcomes.hpp"
#include "backends/model.hpp"
#include "domains/domain_build.hpp"
#include "lab/lab_corpus.hpp"
#include "pilot/pilot.hpp"
#include "tasks/task_prompts.hpp"
#include "tasks/task_spec.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fmt/core.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <set>

namespace compeval {
namespace {

// A domain file over a log; `extra` adds top-level sections.
std::string records_domain(const std::string & dir, const std::string & records, const std::string & extra = "",
                           const std::string & label_words = "{fine: \" fine\", crack: \" crack\", warp: \" warp\"}") {
    return test::write(dir, "domain.yaml",
                       "name: log\nrecords:\n" + records + extra +
                           "task:\n  fewshot_k: 1\n  label_words: " + label_words +
                           "\n  prompts:\n    - {name: p, plain: \"{{x}} {{y}} {{z}}:\", chat: {user: \"{{x}} {{y}} "
                           "{{z}}?\"}}\n");
}

std::string expect_error(const std::function<void()> & run) {
    try {
        run();
    } catch (const Error & e) {
        return e.what();
    }
    ADD_FAILURE() << "no error";
    return "";
}

const DomainItem & item_of(const DomainBuild & build, const std::string & x, const std::string & y,
                           const std::string & z) {
    for (const auto & item : build.items) {
        if (item.slots.at("x") == x && item.slots.at("y") == y && item.slots.at("z") == z) {
            return item;
        }
    }
    throw Error("no item " + x + "+" + y + "+" + z);
}

nlohmann::json read_json(const std::string & path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

// A spreadsheet's "CSV UTF-8": byte-order mark, CRLF line ends, quoted fields
// with commas and a quoted line break, columns in another order and named
// otherwise than the slots.
const char * kLog =
    "\xEF\xBB\xBFnote,result,zed,ex,why\r\n"
    "\"plain, first\",fine,c1,a1,b1\r\n"
    "x,fine,c1,a1,b1\r\n"
    "x,crack,c1,a1,b1\r\n"
    "x,fine,c1,a1,b1\r\n"
    "\"two\r\nlines\",crack,c1,a1,b2\r\n"
    "x,fine,c1,a1,b2\r\n"
    "x,warp,c1,a2,b1\r\n"
    "x,warp,c1,a2,b1\r\n"
    "x,fine,c2,a2,b2\r\n"
    "x,crack,c2,a1,b1\r\n"
    "x,fine,c2,a2,b1\r\n"
    "x,fine,c2,a1,b2\r\n";

TEST(RecordsDomain, MajorityTiesAndDisagreeingRowsAreCountedNeverOverwritten) {
    const std::string dir = test::temp_dir("records-majority");
    test::write(dir, "log.csv", kLog);
    const std::string records = "  file: log.csv\n  outcome: result\n  slots: {x: ex, y: why, z: zed}\n";
    const auto spec = load_domain_spec(records_domain(dir, records));
    const auto build = build_domain(spec, dir + "/out");
    // Observed combinations only: a2+b2+c1, never made, is absent.
    ASSERT_EQ(build.items.size(), 7U);
    EXPECT_THROW(item_of(build, "a2", "b2", "c1"), Error);
    const auto & three_one = item_of(build, "a1", "b1", "c1");  // fine 3, crack 1
    EXPECT_EQ(three_one.outcome_counts, (std::vector<size_t>{3, 1, 0}));
    EXPECT_EQ(three_one.rows, 4U);
    EXPECT_EQ(three_one.label, "fine");
    EXPECT_FALSE(three_one.tie);
    const auto & tied = item_of(build, "a1", "b2", "c1");  // crack 1, fine 1 (crack first in the file)
    EXPECT_EQ(tied.outcome_counts, (std::vector<size_t>{1, 1, 0}));
    EXPECT_EQ(tied.label, "fine") << "a tie goes to the outcome listed first in label_words";
    EXPECT_TRUE(tied.tie);
    EXPECT_EQ(item_of(build, "a2", "b1", "c1").label, "warp");
    const auto split = read_json(dir + "/out/split.json");
    EXPECT_EQ(split["records"]["rows_read"], 12);
    EXPECT_EQ(split["records"]["rows_kept"], 12);
    EXPECT_EQ(split["records"]["combinations"], 7);
    EXPECT_EQ(split["records"]["ties"], 1);
    EXPECT_EQ(split["records"]["combinations_with_disagreeing_outcomes"], 2);
    EXPECT_EQ(split["seen"].get<size_t>() + split["unseen"].get<size_t>(), 7U);

    // The task groups the rows back: gold is the same majority (the tie
    // included) and the counts are the observed shares.
    const TaskSpec task = load_task_spec(dir + "/out/task.yaml", dir + "/out");
    for (const auto & item : load_limited_items(task, {})) {
        const auto & slots = item.fields;
        const auto & built = item_of(build, slots.at("x"), slots.at("y"), slots.at("z"));
        EXPECT_EQ(item.outcome_texts()[static_cast<size_t>(item.gold)], " " + built.label);
        EXPECT_EQ(item.human, std::vector<double>(built.outcome_counts.begin(), built.outcome_counts.end()));
    }

    // With crack listed first the tie goes the other way, in both places.
    const auto crack_first =
        load_domain_spec(records_domain(dir, records, "", "{crack: \" crack\", fine: \" fine\", warp: \" warp\"}"));
    const auto rebuilt = build_domain(crack_first, dir + "/out2");
    EXPECT_EQ(item_of(rebuilt, "a1", "b2", "c1").label, "crack");
}

TEST(RecordsDomain, TheDateSplitTakesCombinationsFirstMadeFromTheDateAndTheCeilingIsTheMajorityShare) {
    const std::string dir = test::temp_dir("records-date");
    // JSON lines this time; dates in three ISO spellings.
    test::write(dir, "log.jsonl",
                "{\"x\": \"a1\", \"y\": \"b1\", \"z\": \"c\", \"on\": \"2026-01-10\", \"out\": \"fine\"}\n"
                "{\"x\": \"a1\", \"y\": \"b1\", \"z\": \"c\", \"on\": \"2026-02-10\", \"out\": \"fine\"}\n"
                "{\"x\": \"a1\", \"y\": \"b1\", \"z\": \"c\", \"on\": \"2026-07-10\", \"out\": \"crack\"}\n"
                "{\"x\": \"a1\", \"y\": \"b2\", \"z\": \"c\", \"on\": \"2026/03/01\", \"out\": \"crack\"}\n"
                "{\"x\": \"a2\", \"y\": \"b1\", \"z\": \"c\", \"on\": \"2026-05-31T23:59\", \"out\": \"fine\"}\n"
                "{\"x\": \"a2\", \"y\": \"b1\", \"z\": \"c\", \"on\": \"2026-04-01\", \"out\": \"warp\"}\n"
                "{\"x\": \"a2\", \"y\": \"b2\", \"z\": \"c\", \"on\": \"2026-06-03\", \"out\": \"fine\"}\n"
                "{\"x\": \"a2\", \"y\": \"b2\", \"z\": \"c\", \"on\": \"2026-06-04\", \"out\": \"fine\"}\n"
                "{\"x\": \"a2\", \"y\": \"b2\", \"z\": \"c\", \"on\": \"2026-06-05\", \"out\": \"crack\"}\n"
                "{\"x\": \"a2\", \"y\": \"b2\", \"z\": \"c\", \"on\": \"2026-06-01\", \"out\": \"fine\"}\n"
                "{\"x\": \"a3\", \"y\": \"b1\", \"z\": \"c\", \"on\": \"2026-07-01\", \"out\": \"fine\"}\n");
    const auto spec =
        load_domain_spec(records_domain(dir, "  file: log.jsonl\n  outcome: out\n  date: on\n",
                                        "slots: {x: ~, y: ~, z: ~}\nsplit: {by: date, unseen_from: 2026-06-01}\n"));
    const auto build = build_domain(spec, dir + "/out");
    const auto split = read_json(dir + "/out/split.json");
    // Seen: made before June (a1+b1 stays seen though a row came later).
    EXPECT_EQ(split["seen"], 3);
    EXPECT_EQ(split["unseen"], 1);            // a2+b2: first made 2026-06-01, every atom seen before
    ASSERT_EQ(split["left_out"].size(), 1U);  // a3+b1: a3 never seen before June
    EXPECT_EQ(split["left_out"][0]["combination"], "a3+b1+c");
    EXPECT_EQ(split["left_out"][0]["atoms_not_seen_before"], nlohmann::json::array({"x=a3"}));
    EXPECT_EQ(item_of(build, "a2", "b2", "c").first_date, "2026-06-01");
    // By hand. Seen: a1+b1 fine 2 crack 1, a1+b2 crack 1, a2+b1 fine 1 warp 1
    // (a tie): majority rows 2 + 1 + 1 of 6; per combination (2/3 + 1 + 1/2) / 3.
    // Unseen: a2+b2 fine 3 crack 1.
    EXPECT_NEAR(split["noise_ceiling"]["seen"].get<double>(), 4.0 / 6.0, 1e-12);
    EXPECT_NEAR(split["noise_ceiling_per_combination"]["seen"].get<double>(), (2.0 / 3.0 + 1.0 + 0.5) / 3.0, 1e-12);
    EXPECT_NEAR(split["noise_ceiling"]["unseen"].get<double>(), 0.75, 1e-12);
    EXPECT_EQ(split["records"]["ties"], 1);
    const std::string sentence = records_sentence(split, false);
    EXPECT_NE(sentence.find("11 rows read, 11 kept"), std::string::npos) << sentence;
    EXPECT_NE(sentence.find("1 left out: an atom not seen before 2026-06-01"), std::string::npos) << sentence;
    EXPECT_NE(sentence.find("seen 0.667, unseen 0.750"), std::string::npos) << sentence;

    // The report's ceiling and agreement come from the samples' counts:
    // answering "fine" everywhere agrees with 3 of a2+b2's 4 rows.
    RunSample s;
    s.split = "unseen";
    s.id = "a2+b2+c";
    s.human = {3, 1, 0};
    s.pred = 0;
    RunSample other = s;
    other.pred = 1;  // the second prompt answers crack: 1 row
    const auto rows = noise_ceiling_rows({&s, &other});
    ASSERT_EQ(rows.size(), 1U);
    EXPECT_NEAR(rows[0]["ceiling"]["rows"].get<double>(), 0.75, 1e-12);
    EXPECT_NEAR(rows[0]["agreement"]["rows"].get<double>(), (3.0 + 1.0) / 2.0 / 4.0, 1e-12);
}

TEST(RecordsDomain, EveryBadRowIsNamedByFileAndLineOrDroppedAndCountedWhereTheFileSaysSo) {
    const std::string dir = test::temp_dir("records-bad");
    test::write(dir, "kinds.csv", "y,kind\nb1,round\nb2,flat\n");
    // Line 3 holds a quoted line break: the bad row on line 5 is the 4th record.
    const std::string head = "x,y,z,on,result,note\na1,b1,c,2026-01-01,fine,-\na1,b2,c,2026-01-02,fine,\"one\ntwo\"\n";
    const struct {
        std::string row;
        std::string reason;
        std::string cause;
    } cases[] = {
        {"a2,b1,c,2026-01-03,,-", "empty_outcome", "log.csv:5: empty outcome (column 'result')"},
        {"a2,,c,2026-01-03,fine,-", "empty_value", "log.csv:5: empty y (column 'y')"},
        {"a9,b1,c,2026-01-03,fine,-", "unknown_value", "log.csv:5: x 'a9' (column 'x') is not among the values"},
        {"a2,b3,c,2026-01-03,fine,-", "not_in_master", "log.csv:5: y 'b3' is not in its master table"},
        {"a2,b1,c,2026-02-30,fine,-", "bad_date", "log.csv:5: date '2026-02-30' (column 'on') is not an ISO date"},
        {"a2,b1,\"c\nd\",2026-01-03,fine,-", "bad_value",
         "log.csv:5: z 'c\\nd' (column 'z') holds a tab or a line break"},
    };
    const std::string extra = "slots: {x: [a1, a2], y: ~, z: ~}\nattributes:\n  y: {file: kinds.csv, key: y}\n";
    for (const auto & c : cases) {
        test::write(dir, "log.csv", head + c.row + "\na2,b2,c,2026-01-04,crack,-\n");
        const auto strict =
            load_domain_spec(records_domain(dir, "  file: log.csv\n  outcome: result\n  date: on\n", extra));
        const std::string message = expect_error([&] { build_domain(strict, dir + "/out"); });
        EXPECT_NE(message.find(c.cause), std::string::npos) << message;
        EXPECT_NE(message.find("on_bad_row: drop"), std::string::npos) << message;
        const auto lenient = load_domain_spec(
            records_domain(dir, "  file: log.csv\n  outcome: result\n  date: on\n  on_bad_row: drop\n", extra));
        const auto build = build_domain(lenient, dir + "/out");
        const auto split = read_json(dir + "/out/split.json");
        EXPECT_EQ(split["records"]["rows_read"], 4) << c.reason;
        EXPECT_EQ(split["records"]["rows_kept"], 3) << c.reason;
        EXPECT_EQ(split["records"]["rows_dropped"], nlohmann::json({{c.reason, 1}})) << c.reason;
        EXPECT_EQ(build.items.size(), 3U);
    }
    // An outcome with no label word is refused even when bad rows are dropped.
    test::write(dir, "log.csv", head + "a2,b1,c,2026-01-03,porosity,-\na2,b2,c,2026-01-04,crack,-\n");
    const auto lenient =
        load_domain_spec(records_domain(dir, "  file: log.csv\n  outcome: result\n  on_bad_row: drop\n", extra));
    const std::string message = expect_error([&] { build_domain(lenient, dir + "/out"); });
    EXPECT_NE(message.find("log.csv:5: outcome 'porosity' (1 rows) has no label word"), std::string::npos) << message;
    // records.where leaves rows out and says how many.
    const auto filtered = load_domain_spec(
        records_domain(dir, "  file: log.csv\n  outcome: result\n  where: {result: {not: porosity}}\n", extra));
    build_domain(filtered, dir + "/out");
    EXPECT_EQ(read_json(dir + "/out/split.json")["records"]["rows_dropped"], nlohmann::json({{"where", 1}}));
    // records and label exclude each other.
    const std::string both = test::write(dir, "both.yaml",
                                         "name: d\nslots: {x: [a, b], y: [c, d]}\nlabel: {default: fine}\n"
                                         "records: {file: log.csv, outcome: result}\ntask: {label_words: {fine: "
                                         "\" y\", bad: \" n\"}, prompts: []}\n");
    EXPECT_NE(expect_error([&] { load_domain_spec(both); }).find("both.yaml:4: a domain takes its labels"),
              std::string::npos);
}

TEST(RecordsDomain, MasterTableAttributesReachPromptsAndAMissingValueIsNamed) {
    const std::string dir = test::temp_dir("records-master");
    test::write(dir, "log.tsv",
                "x\ty\tz\tresult\na1\tb1\tc\tfine\na1\tb2\tc\tcrack\na2\tb1\tc\tfine\na2\tb2\tc\tfine\n");
    test::write(dir, "kinds.csv", "\xEF\xBB\xBFy,kind,weight\nb1,\"round, small\",3\nb2,flat,4\n");
    const std::string domain =
        test::write(dir, "domain.yaml",
                    "name: log\nrecords: {file: log.tsv, outcome: result}\nslots: {x: ~, y: [b1, b2], z: ~}\n"
                    "attributes:\n  y: {file: kinds.csv, key: y}\nsplit: {test_fraction: 0.25}\n"
                    "task:\n  fewshot_k: 1\n  label_words: {fine: \" fine\", crack: \" crack\"}\n"
                    "  prompts: [{name: p, plain: \"{{x}} {{y}} ({{y.kind}}):\", chat: {user: \"{{x}} {{y}}?\"}}]\n");
    const auto build = build_domain(load_domain_spec(domain), dir + "/out");
    const TaskSpec task = load_task_spec(dir + "/out/task.yaml", dir + "/out");
    std::set<std::string> prompts;
    for (const auto & item : load_limited_items(task, {})) {
        prompts.insert(task.prompts.front().plain.render(item.fields));
    }
    EXPECT_TRUE(prompts.contains("a1 b1 (round, small):")) << *prompts.begin();
    EXPECT_TRUE(prompts.contains("a2 b2 (flat):"));
    // A listed value the master table lacks: the domain file's line.
    test::write(dir, "kinds.csv", "y,kind\nb1,round\n");
    EXPECT_NE(
        expect_error([&] { load_domain_spec(domain); }).find("domain.yaml:3: slot 'y' lists 'b2', which is not in"),
        std::string::npos);
    // A key given twice: the table's line.
    test::write(dir, "kinds.csv", "y,kind\nb1,round\nb2,flat\nb1,square\n");
    EXPECT_NE(expect_error([&] { load_domain_spec(domain); }).find("kinds.csv:4: 'b1' is already the key of line 2"),
              std::string::npos);
}

// A label table lists each combination once: a second line for one would
// silently replace the first.
TEST(RecordsDomain, ALabelTableWithACombinationTwiceIsRefused) {
    const std::string dir = test::temp_dir("records-table-twice");
    test::write(dir, "t.csv", "a,b,label\nx,z,good\nx,w,good\ny,z,bad\ny,w,good\nx,z,bad\n");
    const std::string domain = test::write(dir, "d.yaml",
                                           "name: d\nslots: {a: [x, y], b: [z, w]}\nlabel: {table: t.csv}\n"
                                           "task: {label_words: {good: \" y\", bad: \" n\"}, prompts: []}\n");
    EXPECT_NE(expect_error([&] {
                  generate_domain_items(load_domain_spec(domain));
              }).find("t.csv:6: the combination on this line is already on line 2"),
              std::string::npos);
}

// The lab learns the observed shares: each row is a document with its own outcome.
TEST(RecordsDomain, TheLabTrainsOnEveryRowWithItsOwnOutcome) {
    const std::string dir = test::temp_dir("records-corpus");
    std::string log = "x,y,z,result\n";
    for (const char * row : {"a1,b1,c,fine", "a1,b1,c,fine", "a1,b1,c,fine", "a1,b1,c,crack", "a1,b2,c,crack",
                             "a2,b1,c,fine", "a2,b2,c,warp", "a2,b2,c,warp", "a3,b1,c,fine", "a3,b2,c,crack"}) {
        log += std::string(row) + "\n";
    }
    test::write(dir, "log.csv", log);
    const std::string domain = records_domain(dir, "  file: log.csv\n  outcome: result\n",
                                              "slots: {x: ~, y: ~, z: ~}\nsplit: {test_fraction: 0.2}\n");
    const auto corpus = domain_corpus({domain, 300, 10, 5}, dir + "/corpus");
    ModelOptions vocab_only;
    vocab_only.vocab_only = true;
    const Model tokenizer(dir + "/corpus/tokenizer.gguf", vocab_only);
    std::map<std::string, size_t> answers;  // "a1 b1 c: fine" -> documents
    for (const auto & doc : corpus.train) {
        const std::string text = tokenizer.detokenize({doc.begin(), doc.end()});
        for (const char * shown : {"a1 b1 c: fine", "a1 b1 c: crack"}) {
            answers[shown] += text.find(shown) != std::string::npos ? 1 : 0;
        }
    }
    // Unless a1+b1 was held out, both of its outcomes are taught, the
    // majority about three times as often.
    std::ifstream in(dir + "/corpus/unseen.tsv");
    const std::string unseen((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (unseen.find("a1+b1+c") == std::string::npos) {
        EXPECT_GT(answers["a1 b1 c: crack"], 0U);
        EXPECT_GT(answers["a1 b1 c: fine"], 2 * answers["a1 b1 c: crack"]);
    } else {
        EXPECT_EQ(answers["a1 b1 c: fine"] + answers["a1 b1 c: crack"], 0U);
    }
    EXPECT_NE(corpus.description.find("rows of records"), std::string::npos) << corpus.description;
}

TEST(RecordsDomain, ThePilotOnTheExampleLogSaysWhatItReadAndTheCeiling) {
    const std::string dir = test::temp_dir("records-pilot");
    PilotOptions options;
    options.domain = test::source_dir() + "/examples/inspection-log/line.yaml";
    options.models = {test::model_path("tiny-f32")};
    options.out = dir + "/run";
    options.report.iterations = 100;
    options.report.error_costs = {{"crack->fine", 5.0}};
    const auto result = run_pilot(options);
    EXPECT_EQ(result.combinations, result.seen + result.unseen + result.left_out);
    const auto & data = result.report.report.data;
    const auto split = read_json(dir + "/run/domain/split.json");
    ASSERT_TRUE(data.contains("records"));
    EXPECT_EQ(data["records"]["records"], split["records"]);
    const std::string summary = pilot_summary(data);
    EXPECT_NE(summary.find(fmt::format("Records: {} rows read, {} kept", split["records"]["rows_read"].get<size_t>(),
                                       split["records"]["rows_kept"].get<size_t>())),
              std::string::npos)
        << summary;
    EXPECT_NE(summary.find("Noise ceiling"), std::string::npos) << summary;
    const auto & task = data["tasks"][0];
    for (const auto & c : task["noise_ceiling"]) {
        EXPECT_NEAR(c["ceiling"]["rows"].get<double>(), split["noise_ceiling"][c["split"].get<std::string>()], 1e-12);
        EXPECT_LE(c["agreement"]["rows"].get<double>(), c["ceiling"]["rows"].get<double>() + 1e-12);
    }
    EXPECT_EQ(task["distribution"].size(), 2U);  // seen and unseen, from the observed shares
    std::set<std::string> golds;
    for (const auto & [gold, preds] : task["confusion"].items()) {
        golds.insert(gold);
    }
    EXPECT_GE(golds.size(), 3U) << "more than two outcome kinds reach the confusion";
    std::ifstream md(dir + "/run/report.md");
    const std::string report((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
    EXPECT_NE(report.find("## Observed outcomes and the noise ceiling"), std::string::npos);
    // The master table's attributes break the unseen errors down.
    EXPECT_NE(report.find("| tiny-f32 | inspection-log | material.kind | metal: "), std::string::npos) << report;
}

}  // namespace
}  // namespace compeval
