#pragma once
// The answer routes that read what a model writes instead of how likely each
// choice is: greedy generation (the generative route) and the log-probabilities
// of the first answer token's most likely candidates (the first-token route,
// what a chat API returns with `logprobs: true, top_logprobs: k`). Implemented
// in-process (GenerationEngine) and by a server's chat or completions endpoint
// (RemoteGenerator), so both give the same kind of result.
#include "backends/language_model.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace compeval {

struct GenerationRequest {
    std::string prompt;  // the text to continue: a plain prompt, or a rendered chat prompt
    bool parse_special = false;
    // The same prompt as a conversation, for a server's chat endpoint (the
    // server applies its own template); empty for plain prompts.
    std::vector<ChatMessage> messages;
    int max_tokens = 16;
    std::vector<std::string> stop;  // the answer ends before the first of these
    int top_logprobs = 0;           // > 0: the k most likely first answer tokens, with log-probabilities
};

struct TokenLogprob {
    std::string token;  // the token's text piece
    double logprob = 0;
};

struct GenerationResult {
    std::string text;                     // what the model wrote, cut before the first stop string
    int n_tokens = 0;                     // tokens generated
    std::string finish;                   // "stop" (a stop string or end of turn) or "length"
    std::vector<TokenLogprob> first_top;  // at the first answer position, most likely first
};

class AnswerGenerator {
  public:
    AnswerGenerator() = default;
    virtual ~AnswerGenerator() = default;
    AnswerGenerator(const AnswerGenerator &) = delete;
    AnswerGenerator & operator=(const AnswerGenerator &) = delete;
    AnswerGenerator(AnswerGenerator &&) = delete;
    AnswerGenerator & operator=(AnswerGenerator &&) = delete;

    virtual const LanguageModel & language_model() const = 0;
    // One result per request, in order; throws compeval::Error.
    virtual std::vector<GenerationResult> generate(const std::vector<GenerationRequest> & requests) = 0;
    virtual uint64_t tokens_decoded() const = 0;
    // Where answers to chat (or plain) prompts come from: "in_process",
    // "chat_completions" or "completions".
    virtual std::string endpoint(bool chat) const = 0;
};

// Cuts `text` before the earliest stop string; true when one was found.
bool cut_at_stop(std::string & text, const std::vector<std::string> & stop);

}  // namespace compeval
