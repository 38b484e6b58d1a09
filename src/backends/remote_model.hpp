#pragma once
// A model behind an OpenAI-compatible server (llama.cpp's llama-server, vLLM,
// TGI...). At start it probes what the server offers and records it:
//   tokenize        /tokenize, for exact context/continuation boundaries
//   echo_logprobs   prompt log-probabilities via /v1/completions echo+logprobs
//   forced_tokens   /completion with a token-id prompt, logit_bias forcing one
//                   token and n_probs: that token's log-probability under the
//                   raw distribution (current llama-server refuses echo)
//   embeddings      /v1/embeddings (last layer only: per-layer tasks are not
//                   available remotely)
//   chat_template   the server's own chat template (/props), rendered here by
//                   the same rules as a GGUF's (chat_template.hpp);
//                   /apply-template is probed for the record
#include "backends/chat_template.hpp"
#include "backends/http_client.hpp"
#include "backends/language_model.hpp"

#include <memory>
#include <mutex>

namespace compeval {

struct RemoteOptions {
    HttpOptions http;
    std::string model;    // the server's model name ("" = the first it lists)
    int concurrency = 4;  // requests in flight while scoring
    // Let the server reuse a cached prompt prefix (fast). Off, every request
    // is evaluated from scratch, so with one server slot the numbers do not
    // depend on what ran before (bit-for-bit repeatable, slower).
    bool cache_prompt = true;
};

struct RemoteCapabilities {
    bool tokenize = false;
    bool echo_logprobs = false;
    bool forced_tokens = false;
    bool embeddings = false;
    bool chat_template = false;
    std::string scoring;  // how continuations are scored: "forced_tokens"
    nlohmann::json to_json() const;
};

class RemoteModel final : public LanguageModel {
  public:
    // Connects, identifies the model and probes capabilities; throws
    // compeval::Error naming the URL when the server cannot score (no
    // /tokenize, or neither forced tokens nor echo).
    explicit RemoteModel(RemoteOptions options);

    const ModelFacts & facts() const override { return facts_; }
    std::vector<Token> tokenize(const std::string & text, bool add_bos, bool parse_special = false) const override;
    // Through the server's /detokenize (llama-server: the pieces concatenated, control tokens as text).
    std::string detokenize(const std::vector<Token> & tokens) const override;
    Token bos() const override { return bos_; }
    Token eos() const override { return eos_; }
    std::string render_chat(const std::vector<ChatMessage> & messages) const override;

    const RemoteCapabilities & capabilities() const { return capabilities_; }
    const RemoteOptions & options() const { return options_; }

  private:
    // Non-virtual, so the constructor's probes can use it.
    std::vector<Token> tokenize_on_server(const std::string & text, bool add_special, bool parse_special) const;
    Token special_token(const std::string & text) const;

    RemoteOptions options_;
    mutable std::mutex mutex_;  // guards client_
    mutable HttpClient client_;
    ModelFacts facts_;
    RemoteCapabilities capabilities_;
    Token bos_ = -1;
    Token eos_ = -1;
    bool adds_bos_ = false;               // the server's tokenizer puts BOS in front with add_special
    std::unique_ptr<ChatTemplate> chat_;  // the server's template; null when it has none or it does not render
};

}  // namespace compeval
