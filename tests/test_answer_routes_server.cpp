// The answer routes against a real llama-server (this build's): generative
// answers through /v1/chat/completions equal in-process greedy generation
// item by item, first-token log-probabilities from the chat endpoint equal
// the in-process ones, a chat-only view of the server is read by answers
// alone, and the echo self-test refuses llama-server's /v1/completions (it
// returns only the generated token) before anything is scored.
#include "backends/remote_model.hpp"
#include "lab/trainer.hpp"
#include "lab/zoo.hpp"
#include "scoring/generation_engine.hpp"
#include "scoring/remote_generator.hpp"
#include "scoring/remote_scorer.hpp"
#include "tasks/answer_task.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace compeval {
namespace {

// A lab instruct model (trained here, about 15 s on 2 cores) and its judgement task.
struct LabInstruct {
    std::string model;
    std::string task;
    std::string data_dir;
};

LabInstruct lab_instruct_model() {
    const std::string dir = test::temp_dir("answer-server-zoo");
    // Enough training that the tuned model answers yes or no (600 sentences and one epoch do not).
    std::ofstream(dir + "/zoo.yaml") << "name: small\nlanguage: {seed: 2, heldout: 0.9, train_sentences: 3000}\n"
                                        "sizes: [50k]\nseeds: [1]\nepochs: 2\nthreads: 0\n"
                                        "instruct: {ratios: [0.5], epochs: 1}\n";
    build_zoo(load_zoo_config(dir + "/zoo.yaml"), dir + "/zoo", [](const std::string &) {});
    return {dir + "/zoo/50k-s1-it0.5.gguf", dir + "/zoo/language/judgement.yaml", dir + "/zoo/language"};
}

TEST(AnswerRoutesServer, ChatCompletionsAnswersEqualInProcessGreedyItemByItem) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    const auto lab = lab_instruct_model();
    TaskSpec spec = load_task_spec(lab.task, lab.data_dir);
    TaskRunOptions options;
    options.form = PromptForm::Chat;
    options.limit = {40, LimitOrder::Sample, 1};

    Model local(lab.model);
    GenerationEngine engine(local, {});
    test::LlamaServer server = test::start_llama_server(lab.model, 2);
    RemoteOptions remote_options;
    remote_options.http.base_url = server.url();
    remote_options.concurrency = 2;
    RemoteModel remote(remote_options);
    EXPECT_TRUE(remote.capabilities().chat_completions);
    EXPECT_EQ(remote.capabilities().server, "llama-server");
    RemoteGenerator generator(remote);

    const TaskResult want = run_answer_task(engine, spec, AnswerRoute::Generate, options);
    const TaskResult got = run_answer_task(generator, spec, AnswerRoute::Generate, options);
    EXPECT_EQ(got.endpoint, "chat_completions");
    ASSERT_EQ(got.results.size(), want.results.size());
    size_t answered = 0;
    for (size_t i = 0; i < got.results.size(); ++i) {
        EXPECT_EQ(got.results[i].answer, want.results[i].answer) << i;
        EXPECT_EQ(got.results[i].pred.at("acc"), want.results[i].pred.at("acc")) << i;
        answered += want.results[i].no_answer ? 0 : 1;
    }
    EXPECT_GT(answered, got.results.size() / 2) << "a tuned model answers yes or no";
    std::cout << "generative: " << got.results.size() << " answers equal item by item, " << answered
              << " naming a label\n";

    // First-token log-probabilities: the chat endpoint's top_logprobs against in-process.
    const TaskResult ft_want = run_answer_task(engine, spec, AnswerRoute::FirstToken, options);
    const TaskResult ft_got = run_answer_task(generator, spec, AnswerRoute::FirstToken, options);
    double max_diff = 0;
    for (size_t i = 0; i < ft_got.results.size(); ++i) {
        const auto & a = ft_got.results[i];
        const auto & b = ft_want.results[i];
        ASSERT_EQ(a.first_token.size(), b.first_token.size());
        EXPECT_EQ(a.pred.at("acc"), b.pred.at("acc")) << i;
        for (size_t c = 0; c < a.first_token.size(); ++c) {
            EXPECT_EQ(a.first_token_listed[c], b.first_token_listed[c]) << i;
            if (a.first_token_listed[c]) {
                EXPECT_NEAR(a.first_token[c], b.first_token[c], 1e-3) << i;
                max_diff = std::max(max_diff, std::abs(a.first_token[c] - b.first_token[c]));
            }
        }
    }
    std::cout << "first-token |server - in-process| max " << max_diff << " nats over " << ft_got.results.size()
              << " answers\n";
}

TEST(AnswerRoutesServer, EchoSelfTestRefusesLlamaServersCompletionsBeforeScoring) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    test::LlamaServer server = test::start_llama_server(test::model_path("tiny-f32"), 1);
    RemoteOptions options;
    options.http.base_url = server.url();
    options.scoring = "echo";
    const auto message = test::error_of([&] { RemoteModel refused(options); });
    std::cout << "echo refused: " << message << "\n";
    EXPECT_EQ(message.rfind(server.url() + ": the prompt log-probability self-test failed: ", 0), 0U) << message;
    EXPECT_NE(message.find("ignore echo"), std::string::npos) << message;  // it answered, without prompt entries
    // The automatic route keeps forced tokens and records why echo is not used.
    options.scoring = "auto";
    RemoteModel remote(options);
    EXPECT_EQ(remote.capabilities().scoring, "forced_tokens");
    EXPECT_FALSE(remote.capabilities().echo_logprobs);
    EXPECT_TRUE(remote.capabilities().echo_error.empty());  // not probed: forced tokens serve
    options.scoring = "forced_tokens";
    EXPECT_EQ(RemoteModel(options).capabilities().scoring, "forced_tokens");
}

TEST(AnswerRoutesServer, AChatOnlyApiIsReadByItsAnswersAndRefusedForLikelihoods) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    // llama-server behind a proxy that offers only what a hosted chat API does.
    const std::string path = test::model_path("chat-tiny-suite", test::kChatTemplate);
    test::LlamaServer server = test::start_llama_server(path, 2);
    test::ChildProcess proxy =
        test::start_process({test::fault_proxy_binary(), "--upstream", "127.0.0.1:" + std::to_string(server.port),
                             "--only", "/v1/models,/v1/chat/completions"});
    const std::string listening = test::read_line(proxy, std::chrono::seconds(10));
    RemoteOptions options;
    options.http.base_url = "http://127.0.0.1:" + listening.substr(listening.rfind(':') + 1);
    RemoteModel remote(options);
    const auto & caps = remote.capabilities();
    EXPECT_EQ(caps.server, "openai");
    EXPECT_FALSE(caps.tokenize);
    EXPECT_TRUE(caps.chat_completions);
    EXPECT_EQ(caps.scoring, "");
    EXPECT_TRUE(remote.applies_chat_template());

    const std::string dir = test::temp_dir("chat-only");
    const TaskSpec spec = load_task_spec(test::write_yes_no_task(dir, "  generate: {max_tokens: 6}\n"), "");
    TaskRunOptions run;
    run.form = PromptForm::Chat;
    RemoteGenerator generator(remote);
    const TaskResult got = run_answer_task(generator, spec, AnswerRoute::Generate, run);
    Model local(path);
    GenerationEngine engine(local, {});
    const TaskResult want = run_answer_task(engine, spec, AnswerRoute::Generate, run);
    ASSERT_EQ(got.results.size(), 4U);
    EXPECT_EQ(got.form, "chat");
    for (size_t i = 0; i < got.results.size(); ++i) {
        EXPECT_EQ(got.results[i].answer, want.results[i].answer) << i;  // the server applied the same template
        EXPECT_NE(got.results[i].context.find("[user] Is it true that"), std::string::npos);
    }
    // Likelihood tasks need what the API does not give: a clear refusal.
    RemoteScorer scorer(remote);
    const auto message = test::error_of([&] { scorer.loglikelihood_tokens({{{1, 2, 3}, 2}}); });
    EXPECT_NE(message.find("returns no prompt log-probabilities"), std::string::npos) << message;
    EXPECT_NE(message.find("answer: generate"), std::string::npos) << message;
}

}  // namespace
}  // namespace compeval
