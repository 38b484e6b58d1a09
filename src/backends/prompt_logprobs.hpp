#pragma once
// Prompt log-probabilities as servers return them ("echo" scoring), and the
// self-test a server must pass before its numbers are trusted. Servers
// differ in shape (fixtures in tests/test_prompt_logprobs.cpp follow each
// server's source, named there):
//   vllm_echo       vLLM /v1/completions, token-id prompt, echo, logprobs: 1,
//                   max_tokens: 1: choices[0].logprobs.token_logprobs (first
//                   null, the last the generated token)
//   vllm_prompt     the same request's choices[0].prompt_logprobs (first null,
//                   then {id: {logprob, rank, decoded_token}}), matched to
//                   choices[0].prompt_token_ids (return_token_ids), never by
//                   dict order
//   tgi             TGI /generate with decoder_input_details: details.prefill
//                   ({id, text, logprob}, the first logprob null) and
//                   details.tokens (the generated one)
//   sglang          SGLang /generate, input_ids, return_logprob,
//                   logprob_start_len: 0: meta_info.input_token_logprobs
//                   ([logprob, id, text], the first logprob null) and
//                   meta_info.output_token_logprobs
// A server that ignores echo (llama-server's /v1/completions returns only the
// generated token), truncates the prompt or returns non-finite values fails
// the self-test with a message naming what it returned.
#include "backends/language_model.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace compeval {

enum class EchoShape { VllmEcho, VllmPrompt, Tgi, Sglang };
const char * echo_shape_name(EchoShape shape);  // "vllm_echo", "vllm_prompt", "tgi", "sglang"

struct PromptLogprobs {
    // One entry per prompt token: its log-probability after the tokens before
    // it (the first has none), and its id where the server says which.
    std::vector<std::optional<double>> logprob;
    std::vector<Token> ids;    // empty when the shape carries no ids
    std::vector<bool> greedy;  // per prompt token: it was the server's top choice (when known)
    Token generated = -1;      // the server's greedy next token (-1 when the shape gives no id)
    std::optional<double> generated_logprob;
};

// The request that asks for a token-id prompt's log-probabilities (`text` for
// TGI, which takes no token ids): the path and body.
std::pair<std::string, nlohmann::json> echo_request(EchoShape shape, const std::string & model,
                                                    const std::vector<Token> & prompt, const std::string & text);

// Reads one response of the shape as the server gave it (a wrong entry
// count is for the self-test to reject); throws compeval::Error naming a
// missing or malformed field.
PromptLogprobs parse_prompt_logprobs(EchoShape shape, const nlohmann::json & body);

// The self-test on a parsed probe response: as many entries as prompt
// tokens, the first null and only the first, every other finite and <= 0,
// ids (where given) equal to the prompt, and a generated token. Throws
// compeval::Error "SERVER: ... self-test failed: WHAT IT RETURNED".
void check_prompt_logprobs(const PromptLogprobs & got, const std::vector<Token> & prompt, const std::string & server);

// The probe's second half: the prompt followed by the token the server chose
// greedily must give that token the log-probability the server gave it when
// generating (within `tolerance` nats), so the entries are not shifted or
// taken from another position.
void check_greedy_agreement(const PromptLogprobs & first, const PromptLogprobs & second, const std::string & server,
                            double tolerance = 0.02);

}  // namespace compeval
