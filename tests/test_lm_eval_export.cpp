// The lm-evaluation-harness export against a synthetic run whose scores are
// counted by hand: file names and folders, accuracies and stderrs, group
// pooling, per-sample fields and hashes, and errors that name file and line.
#include "report/lm_eval_export.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace compeval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kStamp = "2026-11-28T22-41-07.123456";

// One sample line. correct[0] decides pred.acc and pred.acc_norm_char; the
// predicted choice gets logprob -1.5e-05 and the other -8.25, so lm-eval's
// acc_norm agrees with acc. acc_calibrated is always right.
json sample(const std::string & model, const std::string & task, const std::string & split, const std::string & variant,
            int line, bool correct, const std::string & form = "plain") {
    const int gold = line % 2;
    const int pred = correct ? gold : 1 - gold;
    json choices = json::array();
    for (int c = 0; c < 2; ++c) {
        choices.push_back({{"text", c == 0 ? " red" : " blue"},
                           {"logprob", c == pred ? -1.5e-05 : -8.25},
                           {"greedy", c == pred},
                           {"n_tokens", 1},
                           {"calibration_logprob", -3.0}});
    }
    return {{"model", model},
            {"model_sha256", model == "small-base" ? "aaa111" : "bbb222"},
            {"task", task},
            {"split", split},
            {"variant", variant},
            {"form", form},
            {"id", split + ":" + std::to_string(line)},
            {"line", line},
            {"context", "Question " + std::to_string(line) + "? Answer:"},
            {"gold", gold},
            {"pred", {{"acc", pred}, {"acc_norm_char", pred}, {"acc_calibrated", gold}}},
            {"fields", {{"noun", "load"}}},
            {"choices", choices}};
}

// Appends one sample per entry of `pattern` (1 = correct), lines 1, 2, ...
void add(std::vector<json> & out, const std::string & model, const std::string & task, const std::string & split,
         const std::string & variant, const std::vector<int> & pattern, const std::string & form = "plain") {
    for (size_t i = 0; i < pattern.size(); ++i) {
        out.push_back(sample(model, task, split, variant, static_cast<int>(i) + 1, pattern[i] == 1, form));
    }
}

std::string write_run(const std::string & name) {
    std::string dir = test::temp_dir(name);
    std::vector<json> lines;
    const std::string a = "small-base";
    const std::string b = "org/large:chat";
    add(lines, a, "plane-ood", "test_1", "question", {1, 1, 0});
    add(lines, a, "plane-ood", "test_1", "statement", {1, 0, 0});
    add(lines, a, "plane-ood", "test_2", "question", {1, 1});
    add(lines, a, "plane-ood", "test_2", "statement", {0});
    add(lines, a, "color", "test", "plain", {1, 0, 1});
    // Non-ASCII choices: compeval's acc_norm_char divides by UTF-8 bytes
    // (-6/5 > -7/4 picks choice 0); lm-eval's acc_norm by code points
    // (-6/3 < -7/4 picks choice 1, the gold one).
    json odd = sample(a, "color", "test", "plain", 4, false);
    odd["gold"] = 1;
    odd["pred"] = {{"acc", 0}, {"acc_norm_char", 0}, {"acc_calibrated", 1}};
    odd["choices"][0]["text"] = " \xc3\xa9\xc3\xa9";
    odd["choices"][0]["logprob"] = -6.0;
    odd["choices"][1]["text"] = " abc";
    odd["choices"][1]["logprob"] = -7.0;
    lines.push_back(odd);
    add(lines, b, "plane-ood", "test_1", "question", {1, 1, 1});
    add(lines, b, "plane-ood", "test_1", "statement", {0, 1, 1});
    add(lines, b, "plane-ood", "test_2", "question", {0, 1});
    add(lines, b, "plane-ood", "test_2", "statement", {1, 0});
    add(lines, b, "color", "test", "plain", {0, 0, 1}, "chat");
    std::reverse(lines.begin(), lines.end());  // doc_id follows the source line, not the file order
    std::ofstream out(dir + "/samples.jsonl", std::ios::binary);
    for (const auto & l : lines) {
        out << l.dump() << '\n';
    }
    json summary = json::array(
        {{{"model", a}, {"n_params", 1.5e8}, {"task", "color"}}, {{"model", b}, {"layer", 3}, {"n_params", 7e9}}});
    std::ofstream(dir + "/summary.json", std::ios::binary) << summary.dump(2);
    return dir;
}

json read_json(const std::string & path) {
    return json::parse(test::read_file(path));
}

std::vector<json> read_jsonl(const std::string & path) {
    std::vector<json> out;
    std::istringstream in(test::read_file(path));
    for (std::string line; std::getline(in, line);) {
        out.push_back(json::parse(line));
    }
    return out;
}

// lm-eval's mean_stderr for k successes in n: sqrt(p (1 - p) / (n - 1)).
double stderr_of(double k, double n) {
    const double p = k / n;
    return std::sqrt(p * (1 - p) / (n - 1));
}

TEST(LmEvalExport, WritesLmEvalFileLayout) {
    const std::string run = write_run("lmeval-layout");
    const std::string out = run + "/lm-eval";
    const auto files = write_lm_eval_outputs(run, out, kStamp, true);
    ASSERT_EQ(files.size(), 12U);
    for (const std::string folder : {"org__large__chat", "small-base"}) {  // sanitize_model_name
        EXPECT_TRUE(fs::exists(out + "/" + folder + "/results_" + kStamp + ".json")) << folder;
        for (const std::string task : {"plane-ood_test_1_question", "plane-ood_test_1_statement",
                                       "plane-ood_test_2_question", "plane-ood_test_2_statement", "color_test_plain"}) {
            EXPECT_TRUE(fs::exists(out + "/" + folder + "/samples_" + task + "_" + kStamp + ".jsonl")) << task;
        }
    }
    for (const auto & f : files) {
        EXPECT_TRUE(fs::exists(f)) << f;
    }
    const json r = read_json(out + "/small-base/results_" + kStamp + ".json");
    EXPECT_EQ(r["model_source"], "compeval");
    EXPECT_EQ(r["model_name"], "small-base");
    EXPECT_EQ(r["model_name_sanitized"], "small-base");
    EXPECT_EQ(r["config"]["model_args"], "pretrained=small-base,gguf_sha256=aaa111");
    EXPECT_EQ(r["config"]["model_num_parameters"], 1.5e8);
    EXPECT_EQ(r["configs"]["color_test_plain"]["output_type"], "multiple_choice");
    EXPECT_EQ(r["versions"]["plane-ood"], 1.0);
    EXPECT_TRUE(r["n-shot"]["color_test_plain"].is_null());
    EXPECT_EQ(r["higher_is_better"]["plane-ood"]["acc_norm"], true);
    EXPECT_EQ(r["task_hashes"].size(), 5U);
    EXPECT_FALSE(r.contains("samples"));
    EXPECT_EQ(read_json(out + "/org__large__chat/results_" + kStamp + ".json")["model_name"], "org/large:chat");
}

TEST(LmEvalExport, ScoresMatchHandCounts) {
    const std::string run = write_run("lmeval-scores");
    const std::string out = run + "/lm-eval";
    write_lm_eval_outputs(run, out, kStamp, true);
    const json a = read_json(out + "/small-base/results_" + kStamp + ".json");
    const json & ra = a["results"];
    EXPECT_DOUBLE_EQ(ra["plane-ood_test_1_question"]["acc,none"], 2.0 / 3);
    EXPECT_NEAR(ra["plane-ood_test_1_question"]["acc_stderr,none"], 1.0 / 3, 1e-12);
    EXPECT_DOUBLE_EQ(ra["plane-ood_test_1_statement"]["acc,none"], 1.0 / 3);
    EXPECT_DOUBLE_EQ(ra["plane-ood_test_2_question"]["acc,none"], 1.0);
    EXPECT_DOUBLE_EQ(ra["plane-ood_test_2_question"]["acc_stderr,none"], 0.0);
    EXPECT_DOUBLE_EQ(ra["plane-ood_test_2_statement"]["acc,none"], 0.0);
    EXPECT_EQ(ra["plane-ood_test_2_statement"]["acc_stderr,none"], "N/A");  // one sample
    EXPECT_EQ(ra["plane-ood_test_1_question"]["alias"], " - plane-ood_test_1_question");
    EXPECT_DOUBLE_EQ(ra["plane-ood_test_1_question"]["acc_calibrated,none"], 1.0);
    // The group pools 2 + 1 + 2 + 0 right of 3 + 3 + 2 + 1; a one-sample subtask makes its stderr N/A.
    EXPECT_DOUBLE_EQ(ra["plane-ood"]["acc,none"], 5.0 / 9);
    EXPECT_EQ(ra["plane-ood"]["acc_stderr,none"], "N/A");
    EXPECT_EQ(a["groups"]["plane-ood"], ra["plane-ood"]);
    // color: acc 2/4, acc_norm_char 2/4, lm-eval's acc_norm 3/4 (the non-ASCII item).
    EXPECT_DOUBLE_EQ(ra["color_test_plain"]["acc,none"], 0.5);
    EXPECT_NEAR(ra["color_test_plain"]["acc_stderr,none"], stderr_of(2, 4), 1e-12);
    EXPECT_DOUBLE_EQ(ra["color_test_plain"]["acc_norm_char,none"], 0.5);
    EXPECT_DOUBLE_EQ(ra["color_test_plain"]["acc_norm,none"], 0.75);
    EXPECT_NEAR(ra["color_test_plain"]["acc_norm_stderr,none"], 0.25, 1e-12);
    // A one-task group is that task, stderr included.
    EXPECT_NEAR(ra["color"]["acc_stderr,none"], stderr_of(2, 4), 1e-12);

    const json b = read_json(out + "/org__large__chat/results_" + kStamp + ".json");
    const json & rb = b["results"];
    EXPECT_DOUBLE_EQ(rb["plane-ood_test_2_statement"]["acc,none"], 0.5);
    EXPECT_NEAR(rb["plane-ood_test_2_statement"]["acc_stderr,none"], 0.5, 1e-12);
    // Group: 3 + 2 + 1 + 1 right of 10. Pooled variance sum((n-1) se^2 n) / (N - k)
    // = (0 + 2 (1/9) 3 + 1 (1/4) 2 + 1 (1/4) 2) / 6 = 5/18; stderr sqrt(5/18 / 10) = 1/6.
    EXPECT_DOUBLE_EQ(rb["plane-ood"]["acc,none"], 0.7);
    EXPECT_NEAR(rb["plane-ood"]["acc_stderr,none"], 1.0 / 6, 1e-12);
    EXPECT_NEAR(rb["color_test_plain"]["acc,none"], 1.0 / 3, 1e-12);

    const json expected_subtasks = {"plane-ood_test_1_question", "plane-ood_test_1_statement",
                                    "plane-ood_test_2_question", "plane-ood_test_2_statement"};
    EXPECT_EQ(a["group_subtasks"]["plane-ood"], expected_subtasks);
    EXPECT_EQ(a["group_subtasks"]["color"], json({"color_test_plain"}));
    EXPECT_EQ(a["group_subtasks"].size(), 2U);
    EXPECT_EQ(a["groups"].size(), 2U);
    EXPECT_EQ(a["n-samples"]["plane-ood_test_1_question"], json({{"original", 3}, {"effective", 3}}));
    EXPECT_EQ(a["n-samples"]["plane-ood_test_2_statement"]["effective"], 1);
    EXPECT_EQ(b["n-samples"]["plane-ood_test_2_statement"]["original"], 2);
}

TEST(LmEvalExport, SampleLinesCarryLmEvalFields) {
    const std::string run = write_run("lmeval-samples");
    const std::string out = run + "/lm-eval";
    write_lm_eval_outputs(run, out, kStamp, true);
    const std::string path = out + "/small-base/samples_color_test_plain_" + kStamp + ".jsonl";
    const auto lines = read_jsonl(path);
    std::vector<std::string> raw;
    std::istringstream in(test::read_file(path));
    for (std::string line; std::getline(in, line);) {
        raw.push_back(line);
    }
    ASSERT_EQ(lines.size(), 4U);
    for (size_t i = 0; i < lines.size(); ++i) {
        const json & s = lines[i];
        EXPECT_EQ(s["doc_id"], i);
        EXPECT_EQ(s["doc"]["line"], i + 1);  // sorted by source line although the file was reversed
        for (const char * key : {"doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics", "acc",
                                 "acc_norm", "doc_hash", "prompt_hash", "target_hash"}) {
            EXPECT_TRUE(s.contains(key)) << key;
        }
        EXPECT_EQ(s["target"], std::to_string(s["doc"]["gold"].get<int>()));
        EXPECT_EQ(s["arguments"]["gen_args_1"]["arg_0"], s["doc"]["context"]);
        // Python's json.loads keeps the line's key order; doc_hash is over json.dumps(doc, indent=2).
        EXPECT_EQ(s["doc_hash"], sha256_string(nlohmann::ordered_json::parse(raw[i]).at("doc").dump(2)));
        EXPECT_EQ(s["prompt_hash"], sha256_string(s["doc"]["context"].get<std::string>()));
        EXPECT_EQ(s["target_hash"], sha256_string(s["target"].get<std::string>()));
        EXPECT_EQ(s["filter"], "none");
        EXPECT_EQ(s["metrics"], json({"acc", "acc_norm", "acc_calibrated", "acc_norm_char"}));
    }
    // Line 1 (gold 1) is right: str() of the logprobs, loglikelihood's [[(ll, is_greedy)]] nesting.
    EXPECT_EQ(lines[0]["arguments"]["gen_args_0"]["arg_1"], " red");
    EXPECT_EQ(lines[0]["resps"], json::parse(R"([[["-8.25", "False"]], [["-1.5e-05", "True"]]])"));
    EXPECT_EQ(lines[0]["filtered_resps"], json::parse(R"([["-8.25", "False"], ["-1.5e-05", "True"]])"));
    EXPECT_EQ(lines[0]["acc"], 1.0);
    EXPECT_EQ(lines[1]["acc"], 0.0);
    EXPECT_EQ(lines[3]["resps"][0][0][0], "-6.0");
    EXPECT_EQ(lines[3]["acc"], 0.0);
    EXPECT_EQ(lines[3]["acc_norm_char"], 0.0);
    EXPECT_EQ(lines[3]["acc_norm"], 1.0);
    // The chat form scores the answer without its leading space.
    const auto chat = read_jsonl(out + "/org__large__chat/samples_color_test_plain_" + kStamp + ".jsonl");
    ASSERT_EQ(chat.size(), 3U);
    EXPECT_EQ(chat[0]["arguments"]["gen_args_0"]["arg_1"], "red");
    EXPECT_EQ(chat[0]["doc"]["choices"], json({"red", "blue"}));
    EXPECT_EQ(read_jsonl(out + "/small-base/samples_plane-ood_test_1_question_" + kStamp + ".jsonl").size(), 3U);
}

TEST(LmEvalExport, BadInputNamesFileAndLine) {
    const std::string dir = test::temp_dir("lmeval-bad");
    std::ofstream(dir + "/samples.jsonl", std::ios::binary)
        << sample("m", "t", "s", "v", 1, true).dump() << "\n{\"model\": \"m\", oops\n";
    const std::string err = test::error_of([&] { write_lm_eval_outputs(dir, dir + "/out", kStamp, true); });
    EXPECT_NE(err.find(dir + "/samples.jsonl:2: malformed sample line"), std::string::npos) << err;

    json bad_gold = sample("m", "t", "s", "v", 1, true);
    bad_gold["gold"] = 5;
    std::ofstream(dir + "/samples.jsonl", std::ios::binary | std::ios::trunc) << bad_gold.dump() << "\n";
    const std::string gold_err = test::error_of([&] { write_lm_eval_outputs(dir, dir + "/out", kStamp, true); });
    EXPECT_NE(gold_err.find("samples.jsonl:1: gold 5"), std::string::npos) << gold_err;

    EXPECT_NE(test::error_of([&] { write_lm_eval_outputs(dir, dir + "/out", "2026_11_28", true); }).find("timestamp"),
              std::string::npos);
    EXPECT_NE(test::error_of([&] {
                  write_lm_eval_outputs(dir + "/nowhere", dir + "/out", kStamp, true);
              }).find("nowhere/samples.jsonl: cannot open"),
              std::string::npos);
}

}  // namespace
}  // namespace compeval
