// The HTTP backend against a real llama-server (the same pinned llama.cpp),
// started and stopped by the test on 127.0.0.1: capabilities are detected, and
// scores through the server match the in-process engine on the same items.
#include "backends/remote_model.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "scoring/remote_scorer.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace compeval {
namespace {

// The server computes the forced token's probability in float from raw
// logits; the engine uses double log-softmax. F32 weights and an F32 KV cache
// on both sides leave differences far below this.
constexpr double kTolerance = 1e-3;

using Server = test::LlamaServer;

Server start_server(const std::string & model, int slots) {
    return test::start_llama_server(model, slots);
}

std::vector<LoglikelihoodRequest> sample_requests() {
    return {{"Question: is a red apple a fruit? Answer:", " yes"},
            {"Question: is a red apple a fruit? Answer:", " no"},
            {"A fake gun is", " not a gun."},
            {"The runner set a new record. Therefore:", " The runner set a record."},
            {"", "Hello world"},
            // "world" is one token: the joint split is not clean, so both sides use the separate rule
            {"Hello wor", "ld"},
            {"Part: gear. Material: nylon.\nIs this part acceptable? Answer:", " yes"}};
}

TEST(HttpBackend, LlamaServerScoresMatchTheInProcessEngine) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server (an installed llama.cpp without tools)";
    }
    const std::string path = test::model_path("tiny-f32");
    Server server = start_server(path, 4);
    RemoteOptions options;
    options.http.base_url = server.url();
    options.concurrency = 4;
    RemoteModel remote(options);

    const auto & caps = remote.capabilities();
    EXPECT_TRUE(caps.tokenize);
    EXPECT_TRUE(caps.forced_tokens);
    EXPECT_FALSE(caps.echo_logprobs);  // llama-server returns no prompt log-probabilities
    EXPECT_EQ(caps.scoring, "forced_tokens");
    EXPECT_FALSE(caps.to_json()["hidden_states_per_layer"].get<bool>());

    Model local(path);
    EXPECT_EQ(remote.bos(), local.bos());
    EXPECT_EQ(remote.facts().n_params, local.facts().n_params);
    EXPECT_EQ(remote.facts().n_vocab, local.facts().n_vocab);

    std::vector<TokenizedRequest> remote_tokens;
    std::vector<TokenizedRequest> local_tokens;
    for (const auto & r : sample_requests()) {
        remote_tokens.push_back(tokenize_request(remote, r));
        local_tokens.push_back(tokenize_request(local, r));
        EXPECT_EQ(remote_tokens.back().tokens, local_tokens.back().tokens) << r.context << "|" << r.continuation;
        EXPECT_EQ(remote_tokens.back().n_context, local_tokens.back().n_context);
        EXPECT_EQ(remote_tokens.back().boundary, local_tokens.back().boundary) << r.context << "|" << r.continuation;
    }
    EXPECT_EQ(local_tokens[5].boundary, TokenBoundary::Separate);
    RemoteScorer scorer(remote);
    LoglikelihoodEngine engine(local, {});
    const auto got = scorer.loglikelihood_tokens(remote_tokens);
    const auto want = engine.loglikelihood_tokens(local_tokens);
    ASSERT_EQ(got.size(), want.size());
    double max_diff = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_NEAR(got[i].logprob, want[i].logprob, kTolerance) << i;
        EXPECT_EQ(got[i].n_tokens, want[i].n_tokens) << i;
        EXPECT_EQ(got[i].greedy, want[i].greedy) << i;
        max_diff = std::max(max_diff, std::abs(got[i].logprob - want[i].logprob));
    }
    std::cout << "max |remote - in-process| = " << max_diff << " nats over " << got.size() << " requests\n";

    // One request in flight or four: the server batches them differently,
    // which moves its float sums a little, never beyond the tolerance.
    options.concurrency = 1;
    RemoteModel serial(options);
    RemoteScorer serial_scorer(serial);
    const auto again = serial_scorer.loglikelihood_tokens(remote_tokens);
    for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_NEAR(again[i].logprob, got[i].logprob, kTolerance) << i;
    }
}

TEST(HttpBackend, ChatPromptsUseTheServedModelsOwnTemplateNeverAFallback) {
    if (!std::filesystem::exists(test::llama_server_binary())) {
        GTEST_SKIP() << "this build has no llama-server";
    }
    // No template in the GGUF: llama-server would fall back to ChatML; compeval refuses.
    Server plain = start_server(test::model_path("tiny-f32"), 1);
    RemoteOptions options;
    options.http.base_url = plain.url();
    RemoteModel no_template(options);
    EXPECT_FALSE(no_template.facts().has_chat_template);
    EXPECT_NE(test::error_of([&] {
                  no_template.render_chat({{"user", "hi"}});
              }).find("no chat template"),
              std::string::npos);

    const std::string chat_path = test::model_path("chat-tiny-suite", test::kChatTemplate);
    Server chat = start_server(chat_path, 1);
    options.http.base_url = chat.url();
    RemoteModel remote(options);
    Model local(chat_path);
    ASSERT_TRUE(remote.facts().has_chat_template);
    const std::vector<ChatMessage> messages = {{"system", "Answer yes or no."}, {"user", "Is a fake gun a gun?"}};
    EXPECT_EQ(remote.render_chat(messages), local.render_chat(messages));
    EXPECT_EQ(remote.facts().chat_answer_prefix, local.facts().chat_answer_prefix);
    EXPECT_EQ(remote.facts().chat_answer_rule, local.facts().chat_answer_rule);
}

TEST(HttpBackend, ClearErrorsForRefusedConnectionsMissingKeysAndBadRequests) {
    const int port = test::free_port();  // nothing listens there
    RemoteOptions options;
    options.http.base_url = "http://127.0.0.1:" + std::to_string(port);
    options.http.max_attempts = 2;
    options.http.backoff_seconds = 0.01;
    const std::string refused = test::error_of([&] { RemoteModel m(options); });
    EXPECT_NE(refused.find(options.http.base_url + "/v1/models: gave up after 2 attempts"), std::string::npos)
        << refused;

    options.http.api_key_env = "COMPEVAL_TEST_KEY_THAT_IS_NOT_SET";
    unsetenv(options.http.api_key_env.c_str());
    EXPECT_EQ(test::error_of([&] { RemoteModel m(options); }),
              "environment variable COMPEVAL_TEST_KEY_THAT_IS_NOT_SET (the API key) is not set");

    if (!std::filesystem::exists(test::llama_server_binary())) {
        return;
    }
    Server server = start_server(test::model_path("tiny-f32"), 1);
    HttpClient client({server.url()});
    // A 4xx is the server's final word: no retry, its message in the error.
    const std::string bad = test::error_of([&] {
        client.post_json("/completion", {{"prompt", "a"}, {"n_predict", "x"}});
    });
    EXPECT_NE(bad.find(server.url() + "/completion: HTTP 400: Field 'n_predict'"), std::string::npos) << bad;
    EXPECT_EQ(client.stats().retries, 0U);
}

}  // namespace
}  // namespace compeval
