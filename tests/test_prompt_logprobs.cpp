// Prompt log-probabilities ("echo" scoring) from servers that cannot run
// here, and the self-test that decides whether a server's numbers are
// trusted. These servers are not installed on this machine, so the bodies
// below are fixtures in each server's documented response shape, written
// from its source:
//   vLLM   vllm-project/vllm vllm/entrypoints/openai/completion/protocol.py
//          (CompletionResponseChoice: logprobs, prompt_logprobs,
//          prompt_token_ids, token_ids) and completion/serving.py (echo puts
//          the prompt's entries first, the first null; prompt_logprobs
//          entries keyed by token id, the prompt's own token among them)
//   TGI    huggingface/text-generation-inference router/src/lib.rs (Details:
//          prefill [{id, text, logprob}], tokens); server
//          flash_causal_lm.py pads the first prefill logprob with NaN,
//          which serde writes as null
//   SGLang sgl-project/sglang python/sglang/srt/managers/io_struct.py and
//          tokenizer_manager.py (meta_info.input_token_logprobs as
//          [logprob, token_id, text], the first logprob null)
// llama-server, which does run here, answers echo with the generated token
// only; the real-server test is in test_answer_routes_server.cpp.
#include "backends/prompt_logprobs.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace compeval {
namespace {

const std::vector<Token> kPrompt = {785, 6722, 315};

nlohmann::json vllm_echo_body() {
    return nlohmann::json::parse(R"({"id":"cmpl-1","object":"text_completion","model":"m","choices":[
      {"index":0,"text":" France","finish_reason":"length","stop_reason":null,
       "logprobs":{"text_offset":[0,3,11,14],"token_logprobs":[null,-9.12,-3.2,-1.51],
         "tokens":["The"," capital"," of"," France"],
         "top_logprobs":[null,{" capital":-9.12," first":-4.0},{" of":-3.2},{" France":-1.51," Paris":-2.3}]},
       "prompt_logprobs":[null,
         {"1156":{"logprob":-4.0,"rank":1,"decoded_token":" first"},"6722":{"logprob":-9.12,"rank":212,"decoded_token":" capital"}},
         {"315":{"logprob":-3.2,"rank":1,"decoded_token":" of"}}],
       "prompt_token_ids":[785,6722,315],"token_ids":[9625]}],
      "usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})");
}

TEST(PromptLogprobs, VllmEchoShapeGivesEveryPromptTokenAndTheGeneratedOne) {
    const auto got = parse_prompt_logprobs(EchoShape::VllmEcho, vllm_echo_body());
    ASSERT_EQ(got.logprob.size(), 3U);
    EXPECT_FALSE(got.logprob[0]);
    EXPECT_DOUBLE_EQ(*got.logprob[1], -9.12);
    EXPECT_DOUBLE_EQ(*got.logprob[2], -3.2);
    EXPECT_EQ(got.ids, kPrompt);
    EXPECT_EQ(got.generated, 9625);
    EXPECT_DOUBLE_EQ(*got.generated_logprob, -1.51);
    // " capital" was not the top choice (" first" was); " of" was.
    EXPECT_FALSE(got.greedy[1]);
    EXPECT_TRUE(got.greedy[2]);
    EXPECT_NO_THROW(check_prompt_logprobs(got, kPrompt, "vllm"));
}

TEST(PromptLogprobs, VllmPromptLogprobsAreMatchedByTokenIdNeverByDictOrder) {
    // The entry for position 1 lists another token first: reading the first
    // key would give -4.0; the prompt's own token 6722 has -9.12.
    const auto got = parse_prompt_logprobs(EchoShape::VllmPrompt, vllm_echo_body());
    ASSERT_EQ(got.logprob.size(), 3U);
    EXPECT_FALSE(got.logprob[0]);
    EXPECT_DOUBLE_EQ(*got.logprob[1], -9.12);
    EXPECT_DOUBLE_EQ(*got.logprob[2], -3.2);
    EXPECT_FALSE(got.greedy[1]);  // rank 212
    EXPECT_TRUE(got.greedy[2]);   // rank 1
    EXPECT_NO_THROW(check_prompt_logprobs(got, kPrompt, "vllm"));

    auto no_ids = vllm_echo_body();
    no_ids["choices"][0].erase("prompt_token_ids");
    EXPECT_NE(test::error_of([&] { parse_prompt_logprobs(EchoShape::VllmPrompt, no_ids); }).find("no prompt_token_ids"),
              std::string::npos);
    auto missing = vllm_echo_body();
    missing["choices"][0]["prompt_logprobs"][2] = {{"999", {{"logprob", -0.1}, {"rank", 1}}}};
    EXPECT_NE(test::error_of([&] {
                  parse_prompt_logprobs(EchoShape::VllmPrompt, missing);
              }).find("no entry for the prompt token 315"),
              std::string::npos);
}

TEST(PromptLogprobs, TgiPrefillAndSglangInputLogprobs) {
    const auto tgi = nlohmann::json::parse(R"({"generated_text":" France","details":{"finish_reason":"length",
      "generated_tokens":1,"seed":null,
      "prefill":[{"id":785,"text":"The","logprob":null},{"id":6722,"text":" capital","logprob":-9.12},
                 {"id":315,"text":" of","logprob":-3.2}],
      "tokens":[{"id":9625,"text":" France","logprob":-1.51,"special":false}]}})");
    const auto t = parse_prompt_logprobs(EchoShape::Tgi, tgi);
    EXPECT_EQ(t.ids, kPrompt);
    EXPECT_DOUBLE_EQ(*t.logprob[2], -3.2);
    EXPECT_EQ(t.generated, 9625);
    EXPECT_NO_THROW(check_prompt_logprobs(t, kPrompt, "tgi"));

    const auto sglang = nlohmann::json::parse(R"({"text":" France","meta_info":{"id":"a1","prompt_tokens":3,
      "finish_reason":{"type":"length","length":1},
      "input_token_logprobs":[[null,785,null],[-9.12,6722,null],[-3.2,315,null]],
      "input_top_logprobs":[null,[[-4.0,1156,null]],[[-3.2,315,null]]],
      "output_token_logprobs":[[-1.51,9625,null]],"completion_tokens":1,"cached_tokens":0}})");
    const auto s = parse_prompt_logprobs(EchoShape::Sglang, sglang);
    EXPECT_EQ(s.ids, kPrompt);
    EXPECT_DOUBLE_EQ(*s.logprob[1], -9.12);
    EXPECT_FALSE(s.greedy[1]);
    EXPECT_TRUE(s.greedy[2]);
    EXPECT_EQ(s.generated, 9625);
    EXPECT_NO_THROW(check_prompt_logprobs(s, kPrompt, "sglang"));
    EXPECT_NE(
        test::error_of([&] { parse_prompt_logprobs(EchoShape::Sglang, nlohmann::json::object()); }).find("meta_info"),
        std::string::npos);
}

TEST(PromptLogprobs, SelfTestRejectsWhatASilentlyWrongServerReturns) {
    const std::string server = "http://gpu:8000";
    // Truncated: the server dropped the prompt's last token (a context limit,
    // a tokenizer mismatch) yet answered 200.
    auto truncated = vllm_echo_body();
    auto & c = truncated["choices"][0];
    c["logprobs"]["token_logprobs"] = {nullptr, -9.12, -1.51};
    c.erase("prompt_token_ids");
    auto got = parse_prompt_logprobs(EchoShape::VllmEcho, truncated);
    auto message = test::error_of([&] { check_prompt_logprobs(got, kPrompt, server); });
    EXPECT_NE(message.find("self-test failed: it returned 2 entries for a prompt of 3 tokens"), std::string::npos)
        << message;
    EXPECT_EQ(message.rfind(server, 0), 0U) << message;

    // Echo ignored (what llama-server's /v1/completions does): only the generated token.
    auto ignored = vllm_echo_body();
    ignored["choices"][0]["logprobs"]["token_logprobs"] = {-1.51};
    ignored["choices"][0].erase("prompt_token_ids");
    got = parse_prompt_logprobs(EchoShape::VllmEcho, ignored);
    message = test::error_of([&] { check_prompt_logprobs(got, kPrompt, server); });
    EXPECT_NE(message.find("ignores echo"), std::string::npos) << message;

    // Shifted by one: the first entry has a value.
    auto shifted = parse_prompt_logprobs(EchoShape::VllmEcho, vllm_echo_body());
    shifted.logprob[0] = -2.0;
    EXPECT_NE(test::error_of([&] { check_prompt_logprobs(shifted, kPrompt, server); }).find("shifted"),
              std::string::npos);
    // A hole or a positive "log-probability".
    auto hole = parse_prompt_logprobs(EchoShape::VllmEcho, vllm_echo_body());
    hole.logprob[2].reset();
    EXPECT_NE(test::error_of([&] { check_prompt_logprobs(hole, kPrompt, server); }).find("token 2 has no"),
              std::string::npos);
    auto positive = parse_prompt_logprobs(EchoShape::VllmEcho, vllm_echo_body());
    positive.logprob[1] = 0.7;
    EXPECT_NE(test::error_of([&] { check_prompt_logprobs(positive, kPrompt, server); }).find("log-probability 0.7"),
              std::string::npos);
    // Another prompt than the one sent.
    EXPECT_NE(test::error_of([&] {
                  check_prompt_logprobs(parse_prompt_logprobs(EchoShape::VllmEcho, vllm_echo_body()), {785, 6722, 316},
                                        server);
              }).find("differ from the prompt"),
              std::string::npos);
}

TEST(PromptLogprobs, TheGreedyTokenMustGetTheSameValueAsAPromptToken) {
    const auto first = parse_prompt_logprobs(EchoShape::VllmEcho, vllm_echo_body());
    PromptLogprobs second;
    second.ids = {785, 6722, 315, 9625};
    second.logprob = {std::nullopt, -9.12, -3.2, -1.515};
    EXPECT_NO_THROW(check_greedy_agreement(first, second, "vllm"));
    second.logprob[3] = -3.2;  // the value of another position
    EXPECT_NE(test::error_of([&] { check_greedy_agreement(first, second, "vllm"); }).find("-1.51"), std::string::npos);
    second.logprob[3] = -1.51;
    second.ids[3] = 11;
    EXPECT_NE(test::error_of([&] { check_greedy_agreement(first, second, "vllm"); }).find("greedy token 9625"),
              std::string::npos);
}

TEST(PromptLogprobs, RequestBodiesAskEachServerForItsPromptLogprobs) {
    const auto [vpath, vllm] = echo_request(EchoShape::VllmPrompt, "m", kPrompt, "");
    EXPECT_EQ(vpath, "/v1/completions");
    EXPECT_EQ(vllm["prompt"], nlohmann::json(kPrompt));
    EXPECT_TRUE(vllm["echo"].get<bool>());
    EXPECT_EQ(vllm["max_tokens"], 1);
    EXPECT_TRUE(vllm["return_token_ids"].get<bool>());
    EXPECT_EQ(vllm["prompt_logprobs"], 1);
    const auto [tpath, tgi] = echo_request(EchoShape::Tgi, "m", kPrompt, "The capital of");
    EXPECT_EQ(tpath, "/generate");
    EXPECT_TRUE(tgi["parameters"]["decoder_input_details"].get<bool>());
    EXPECT_EQ(tgi["inputs"], "The capital of");
    const auto [spath, sglang] = echo_request(EchoShape::Sglang, "m", kPrompt, "");
    EXPECT_EQ(spath, "/generate");
    EXPECT_EQ(sglang["logprob_start_len"], 0);
    EXPECT_EQ(sglang["input_ids"], nlohmann::json(kPrompt));
}

}  // namespace
}  // namespace compeval
