// The first-token and generative routes: answers mapped to labels (and
// no_answer kept, never guessed), first-token candidates merged per label,
// server response shapes, greedy generation in-process against an
// independent step-by-step argmax, and the routes through tasks, suites,
// the store and the report.
#include "analysis/run_report.hpp"
#include "report/report_files.hpp"
#include "runs/suite_runner.hpp"
#include "scoring/generation_engine.hpp"
#include "scoring/remote_generator.hpp"
#include "scoring/token_distribution.hpp"
#include "tasks/answer_extraction.hpp"
#include "tasks/answer_task.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

namespace compeval {
namespace {

TEST(AnswerExtraction, LabelsAreWholeWordsCaseInsensitiveFirstOrLast) {
    const std::vector<std::string> labels = {" yes", " no"};
    AnswerOptions first;
    AnswerOptions last;
    last.last_match = true;
    EXPECT_EQ(extract_label("Yes, it is.", labels, first), 0);
    EXPECT_EQ(extract_label(" NO", labels, first), 1);
    EXPECT_EQ(extract_label("The answer is no. Not yes.", labels, first), 1);
    EXPECT_EQ(extract_label("The answer is no. Not yes.", labels, last), 0);
    EXPECT_EQ(extract_label("yesterday nobody came", labels, first), -1);  // not whole words
    EXPECT_EQ(extract_label("", labels, first), -1);
    // Where two labels start at one place the longer wins.
    const std::vector<std::string> nested = {"not entailed", "entailed", "not"};
    EXPECT_EQ(extract_label("It is not entailed.", nested, first), 0);
    EXPECT_EQ(extract_label("entailed, not really", nested, first), 1);
    EXPECT_EQ(extract_label("entailed, not really", nested, last), 2);

    AnswerOptions regex;
    regex.regex = R"(answer:\s*(\w+))";
    EXPECT_EQ(extract_label("I think yes. Answer: No", labels, regex), 1);
    EXPECT_EQ(extract_label("Answer: maybe", labels, regex), -1);  // the group names no label
    EXPECT_EQ(extract_label("no answer line here", labels, regex), -1);
}

TEST(AnswerExtraction, FirstTokenCandidatesMergePerLabelAndUnlistedLabelsAreBounded) {
    const std::vector<std::set<std::string>> forms = {{"yes"}, {"no"}, {"maybe"}};
    const std::vector<TokenLogprob> top = {
        {" yes", -0.5}, {"Yes", -2.0}, {" no", -1.2}, {"\xE2\x96\x81NO", -3.0}, {" the", -4.0}};
    const auto s = rank_first_tokens(top, forms);
    EXPECT_NEAR(s.logprob[0], std::log(std::exp(-0.5) + std::exp(-2.0)), 1e-12);
    EXPECT_NEAR(s.logprob[1], std::log(std::exp(-1.2) + std::exp(-3.0)), 1e-12);
    EXPECT_TRUE(s.listed[0]);
    EXPECT_TRUE(s.listed[1]);
    EXPECT_FALSE(s.listed[2]);
    EXPECT_DOUBLE_EQ(s.logprob[2], -4.0);  // below the least listed candidate
    EXPECT_EQ(s.pred, 0);

    // A candidate that is a form of two labels counts for neither.
    const auto shared = rank_first_tokens({{" not", -0.1}, {" no", -2.0}}, {{"not", "no"}, {"not"}});
    EXPECT_TRUE(shared.listed[0]);
    EXPECT_FALSE(shared.listed[1]);
    EXPECT_NEAR(shared.logprob[0], -2.0, 1e-12);
    // Nothing listed: no answer.
    EXPECT_EQ(rank_first_tokens({{" the", -0.1}}, forms).pred, -1);
}

TEST(AnswerExtraction, FirstTokenFormsComeFromTheModelsTokenizer) {
    Model model(test::vocab_path("llama-bpe"), {.vocab_only = true});
    const auto forms = first_token_forms(model, " yes");
    EXPECT_TRUE(forms.contains("yes"));
    // A word the tokenizer splits: its first piece, not the word.
    const auto split = first_token_forms(model, "Antidisestablishmentarianism");
    EXPECT_FALSE(split.contains("antidisestablishmentarianism"));
    EXPECT_FALSE(split.empty());
}

TEST(GenerationResponses, ChatAndCompletionsShapesOfOpenAiAndLlamaServer) {
    // OpenAI's chat shape (openai-python types/chat/chat_completion_token_logprob.py).
    const auto chat = nlohmann::json::parse(R"({"choices":[{"index":0,"finish_reason":"stop",
      "message":{"role":"assistant","content":"No.\nBecause"},
      "logprobs":{"content":[{"token":"No","logprob":-0.3,"bytes":[78,111],
        "top_logprobs":[{"token":"Yes","logprob":-1.4,"bytes":null},{"token":"No","logprob":-0.3,"bytes":null}]}],
        "refusal":null}}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})");
    const auto c = parse_generation_response(chat, {"\n"}, 20);
    EXPECT_EQ(c.text, "No.");  // cut before the stop string
    EXPECT_EQ(c.finish, "stop");
    EXPECT_EQ(c.n_tokens, 3);
    ASSERT_EQ(c.first_top.size(), 2U);
    EXPECT_EQ(c.first_top[0].token, "No");  // most likely first
    // The legacy completions shape (OpenAI, vLLM): a map token -> log-probability.
    const auto legacy = nlohmann::json::parse(R"({"choices":[{"text":" yes","finish_reason":"length",
      "logprobs":{"tokens":[" yes"],"token_logprobs":[-0.2],"top_logprobs":[{" no":-1.9," yes":-0.2}]}}]})");
    const auto l = parse_generation_response(legacy, {}, 2);
    EXPECT_EQ(l.text, " yes");
    EXPECT_EQ(l.finish, "length");
    ASSERT_EQ(l.first_top.size(), 2U);
    EXPECT_EQ(l.first_top[0].token, " yes");
    // A null content (a refusal, or only reasoning) is an empty answer, not an error.
    EXPECT_EQ(
        parse_generation_response(nlohmann::json::parse(R"({"choices":[{"message":{"content":null}}]})"), {}, 0).text,
        "");
    EXPECT_NE(test::error_of([] {
                  parse_generation_response(nlohmann::json::parse(R"({"choices":[]})"), {}, 0);
              }).find("no choices[0]"),
              std::string::npos);
    EXPECT_NE(test::error_of([&] {
                  parse_generation_response(nlohmann::json::parse(R"({"choices":[{"text":"a"}]})"), {}, 5);
              }).find("no top_logprobs"),
              std::string::npos);
}

// Greedy decoding one token at a time from fresh reference logits.
std::vector<Token> reference_greedy(const Model & model, std::vector<Token> tokens, int n) {
    std::vector<Token> out;
    for (int i = 0; i < n; ++i) {
        const auto logits = test::reference_logits(model, tokens, tokens.size() - 1);
        const Token next = summarize_logits(logits.data(), logits.size()).argmax;
        out.push_back(next);
        tokens.push_back(next);
    }
    return out;
}

TEST(GenerationEngine, GreedyAnswersEqualAStepByStepArgmaxWhateverRanBefore) {
    Model model(test::model_path("tiny-f32"));
    const std::vector<std::string> prompts = {
        "Is a fake gun a gun? Answer:", "Is a fake gun a real gun? Answer:", "The runner set a new record. Therefore"};
    std::vector<GenerationRequest> requests;
    for (const auto & p : prompts) {
        GenerationRequest r;
        r.prompt = p;
        r.max_tokens = 5;
        r.top_logprobs = 8;
        requests.push_back(r);
    }
    GenerationEngine engine(model, {});
    const auto got = engine.generate(requests);
    ASSERT_EQ(got.size(), requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
        const auto prompt = model.tokenize(requests[i].prompt, true);
        const auto want = reference_greedy(model, prompt, 5);
        EXPECT_EQ(got[i].text, model.detokenize(want)) << i;
        EXPECT_EQ(got[i].n_tokens, 5);
        EXPECT_EQ(got[i].finish, "length");
        // The top candidates and their log-probabilities at the first answer position.
        const auto logits = test::reference_logits(model, prompt, prompt.size() - 1);
        const auto row = summarize_logits(logits.data(), logits.size());
        ASSERT_EQ(got[i].first_top.size(), 8U);
        EXPECT_EQ(got[i].first_top[0].token, model.detokenize({want[0]}));
        for (const auto & t : got[i].first_top) {
            EXPECT_LE(t.logprob, got[i].first_top[0].logprob);
        }
        EXPECT_NEAR(got[i].first_top[0].logprob, logits[static_cast<size_t>(want[0])] - row.log_normalizer, 1e-4);
    }
    // Reversed order: the shared prefix reused from another request changes nothing.
    std::vector<GenerationRequest> reversed(requests.rbegin(), requests.rend());
    const auto again = engine.generate(reversed);
    for (size_t i = 0; i < requests.size(); ++i) {
        EXPECT_EQ(again[requests.size() - 1 - i].text, got[i].text);
        EXPECT_NEAR(again[requests.size() - 1 - i].first_top[0].logprob, got[i].first_top[0].logprob, 1e-4);
    }
    // A stop string ends the answer before it.
    auto stopped = requests[0];
    stopped.stop = {got[0].text.substr(got[0].text.size() / 2, 1)};
    const auto s = engine.generate({stopped});
    EXPECT_EQ(s[0].finish, "stop");
    EXPECT_EQ(s[0].text.find(stopped.stop[0]), std::string::npos);
    EXPECT_EQ(got[0].text.rfind(s[0].text, 0), 0U);
}

TEST(AnswerTask, EveryAnswerIsScoredOrKeptAsNoAnswerNeverGuessed) {
    const std::string dir = test::temp_dir("answer-task");
    const TaskSpec spec =
        load_task_spec(test::write_yes_no_task(dir, "  generate: {max_tokens: 3, stop: [\"\\n\"]}\n"), "");
    Model model(test::model_path("tiny-f32"));
    GenerationEngine engine(model, {});
    const TaskResult result = run_answer_task(engine, spec, AnswerRoute::Generate);
    ASSERT_EQ(result.results.size(), 4U);
    EXPECT_EQ(result.route, "generate");
    EXPECT_EQ(result.label(), "judge:generate");
    EXPECT_EQ(result.endpoint, "in_process");
    size_t none = 0;
    size_t correct = 0;
    for (const auto & r : result.results) {
        const int pred = r.pred.at("acc");
        EXPECT_EQ(pred, extract_label(r.answer, result.items[r.item].choices, spec.answer));
        EXPECT_EQ(r.no_answer, pred < 0);
        none += r.no_answer ? 1 : 0;
        correct += pred == result.items[r.item].gold ? 1 : 0;
        const auto line = sample_json(spec, result, r);
        EXPECT_EQ(line["answer"], r.answer);  // kept verbatim
        EXPECT_EQ(line["no_answer"], r.no_answer);
        EXPECT_EQ(line["route"], "generate");
        EXPECT_EQ(line["task"], "judge:generate");
    }
    const auto & mean = result.metrics.back();
    EXPECT_DOUBLE_EQ(mean.values.at("no_answer"), static_cast<double>(none) / 4.0);
    EXPECT_DOUBLE_EQ(mean.values.at("acc"), static_cast<double>(correct) / 4.0);

    // The first-token route: every label's first-token value, listed or bounded.
    const TaskResult ft = run_answer_task(engine, spec, AnswerRoute::FirstToken);
    for (const auto & r : ft.results) {
        ASSERT_EQ(r.first_token.size(), 2U);
        EXPECT_EQ(r.no_answer, !r.first_token_listed[0] && !r.first_token_listed[1]);
        EXPECT_EQ(r.first_top.size(), 20U);
    }
    EXPECT_TRUE(ft.metrics.back().values.contains("top_k_missing"));
}

TEST(AnswerTask, RoutesAreCheckedInTaskAndSuiteFiles) {
    const std::string dir = test::temp_dir("answer-spec");
    EXPECT_EQ(load_task_spec(test::write_yes_no_task(dir, "  answer: generate\n"), "").answer.route,
              AnswerRoute::Generate);
    auto bad = test::error_of([&] { load_task_spec(test::write_yes_no_task(dir, "  answer: sample\n"), ""); });
    EXPECT_NE(bad.find("task.yaml:10: field 'scoring.answer': unknown answer route 'sample'"), std::string::npos)
        << bad;
    bad = test::error_of([&] { load_task_spec(test::write_yes_no_task(dir, "  generate: {regex: \"(\"}\n"), ""); });
    EXPECT_NE(bad.find("not a valid regular expression"), std::string::npos) << bad;
    bad = test::error_of([&] { load_task_spec(test::write_yes_no_task(dir, "  generate: {max_token: 3}\n"), ""); });
    EXPECT_NE(bad.find("max_token"), std::string::npos) << bad;
    // Sentences to compare cannot be said as an answer.
    test::write(dir, "pairs.tsv", "good\tbad\na b\tb a\n");
    const auto pairs = test::write(dir, "pairs.yaml",
                                   "name: mp\ncategory: t\ndata: {format: tsv, splits: {t: \"" + dir +
                                       "/pairs.tsv\"}}\nscoring: {mode: minimal_pair, good: good, bad: bad, answer: "
                                       "generate}\nprompts: [{name: p, plain: \"\"}]\n");
    bad = test::error_of([&] { load_task_spec(pairs, ""); });
    EXPECT_NE(bad.find("needs scoring.mode label_words or multiple_choice"), std::string::npos) << bad;

    const std::string model = test::model_path("tiny-f32");
    test::write_yes_no_task(dir, "");
    auto suite = test::write(dir, "suite.yaml",
                             "name: s\nmodels: [{name: m, path: " + model +
                                 "}]\ntasks:\n  - {path: task.yaml, answer: [loglikelihood, generate]}\n");
    const auto spec = load_suite_spec(suite);
    ASSERT_EQ(spec.tasks[0].routes.size(), 2U);
    EXPECT_EQ(spec.tasks[0].routes[1], AnswerRoute::Generate);
    suite = test::write(dir, "twice.yaml",
                        "name: s\nmodels: [{name: m, path: " + model +
                            "}]\ntasks:\n  - {path: task.yaml, answer: [generate, generate]}\n");
    bad = test::error_of([&] { load_suite_spec(suite); });
    EXPECT_NE(bad.find("twice.yaml:4: task 'judge': field 'answer': route 'generate' is listed twice"),
              std::string::npos)
        << bad;
}

TEST(AnswerTask, ASuiteReadsOneTaskThreeWaysResumesAndTheReportComparesTheRoutes) {
    const std::string dir = test::temp_dir("answer-suite");
    test::write_yes_no_task(dir, "  generate: {max_tokens: 2}\n");
    const auto suite_path =
        test::write(dir, "suite.yaml",
                    "name: s\nmodels:\n  - {name: base, path: " + test::model_path("tiny-f32") +
                        ", family: f, size: 1M}\n  - {name: chat, path: " +
                        test::model_path("chat-tiny-suite", test::kChatTemplate) +
                        ", family: f, size: 1M, variant: instruct}\n"
                        "tasks:\n  - {path: task.yaml, answer: [loglikelihood, first_token, generate]}\n");
    const SuiteSpec suite = load_suite_spec(suite_path);
    {
        ResultsStore store(dir + "/results.sqlite");
        const auto run = run_suite(suite, store, {});
        ASSERT_EQ(run.results.size(), 6U);
        export_suite_results(run, dir + "/run");
    }
    ResultsStore store(dir + "/results.sqlite");
    const auto again = run_suite(suite, store, {});
    EXPECT_EQ(again.scored, 0U);  // every answer came from the store
    EXPECT_GT(again.reused, 0U);
    export_suite_results(again, dir + "/again");
    EXPECT_EQ(test::read_file(dir + "/again/samples.jsonl"), test::read_file(dir + "/run/samples.jsonl"));

    const auto report = build_report(dir + "/run").data;
    // The report files, lm-eval's included: the answer routes are left out of
    // its multiple-choice records, the log-likelihood route is there.
    const auto files = write_report_files(dir + "/run", {}, "2026-12-02T00-00-00.000000");
    std::string lm_eval;
    for (const auto & f : files.written) {
        if (f.find("lm-eval") != std::string::npos && f.find("results_") != std::string::npos) {
            lm_eval += test::read_file(f);
        }
    }
    EXPECT_NE(lm_eval.find("judge"), std::string::npos);
    EXPECT_EQ(lm_eval.find("judge:generate"), std::string::npos);
    EXPECT_EQ(lm_eval.find("judge:first_token"), std::string::npos);
    EXPECT_NE(files.markdown.find("## Scoring-method comparison"), std::string::npos);
    EXPECT_NE(files.markdown.find("| chat | judge:generate | generate |"), std::string::npos) << files.markdown;
    std::set<std::string> routes;
    for (const auto & t : report["tasks"]) {
        routes.insert(t["route"].get<std::string>());
    }
    EXPECT_EQ(routes, (std::set<std::string>{"loglikelihood", "first_token", "generate"}));
    // Per model: loglikelihood x first_token, loglikelihood x generate, first_token x generate.
    ASSERT_EQ(report["scoring_methods"].size(), 6U);
    for (const auto & r : report["scoring_methods"]) {
        EXPECT_EQ(r["n"], 4);
        EXPECT_GE(r["mcnemar_p"].get<double>(), 0.0);
    }
    ASSERT_EQ(report["answer_routes"].size(), 4U);  // 2 models x 2 answer routes
    // The instruct model against the base, under each route.
    ASSERT_FALSE(report["instruction_tuning_by_route"].empty());
    for (const auto & row : report["instruction_tuning_by_route"]) {
        EXPECT_EQ(row["task"], "judge");
        EXPECT_EQ(row["routes"].size(), 3U);
    }
}

}  // namespace
}  // namespace compeval
