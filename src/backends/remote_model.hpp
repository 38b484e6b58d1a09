#pragma once
// A model behind a server: llama.cpp's llama-server, vLLM, SGLang, TGI, or
// any OpenAI-compatible chat API. At start it identifies the server (kind
// and version from /props, /version, /get_model_info or /info) and probes
// what it offers, recording all of it:
//   tokenize        /tokenize, for exact context/continuation boundaries
//                   (llama-server's shape, or vLLM's and SGLang's)
//   forced_tokens   /completion with a token-id prompt, logit_bias forcing one
//                   token and n_probs: that token's log-probability under the
//                   raw distribution (llama-server)
//   echo_logprobs   prompt log-probabilities (prompt_logprobs.hpp), trusted
//                   only after the self-test on a known prompt passes
//   chat_completions /v1/chat/completions answers (the generative and
//                   first-token routes; a chat-only API has nothing else)
//   embeddings      /v1/embeddings (last layer only: per-layer tasks are not
//                   available remotely)
//   chat_template   the server's own chat template (/props), rendered here by
//                   the same rules as a GGUF's (chat_template.hpp);
//                   /apply-template is probed for the record
#include "backends/chat_template.hpp"
#include "backends/http_client.hpp"
#include "backends/language_model.hpp"
#include "backends/prompt_logprobs.hpp"

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
    // How log-likelihoods are obtained: "auto" (forced tokens where the
    // server offers them, else echo), "forced_tokens" or "echo" (required:
    // the server is refused when the route fails its probe).
    std::string scoring = "auto";
};

struct RemoteCapabilities {
    std::string server;  // "llama-server", "vllm", "sglang", "tgi" or "openai" (none of these)
    std::string server_version;
    bool tokenize = false;
    bool echo_logprobs = false;
    std::string echo_shape;  // prompt_logprobs.hpp's shape that passed the self-test
    std::string echo_error;  // why echo is not used (the self-test's message)
    bool forced_tokens = false;
    bool chat_completions = false;
    bool embeddings = false;
    bool chat_template = false;
    bool cache_prompt = true;  // what compeval asked of the server's prompt cache
    // How continuations are scored: "forced_tokens", "echo", or "" (none:
    // only the first-token and generative routes can read this model).
    std::string scoring;
    nlohmann::json to_json() const;
};

class RemoteModel final : public LanguageModel {
  public:
    // Connects, identifies the server and model and probes capabilities;
    // throws compeval::Error naming the URL when the server lists no such
    // model, or a required scoring route fails its probe.
    explicit RemoteModel(RemoteOptions options);

    const ModelFacts & facts() const override { return facts_; }
    std::vector<Token> tokenize(const std::string & text, bool add_bos, bool parse_special = false) const override;
    // Through the server's /detokenize (llama-server: the pieces concatenated, control tokens as text).
    std::string detokenize(const std::vector<Token> & tokens) const override;
    Token bos() const override { return bos_; }
    Token eos() const override { return eos_; }
    std::string render_chat(const std::vector<ChatMessage> & messages) const override;
    // A server without a template of its own to render here still applies
    // one behind its chat endpoint.
    bool applies_chat_template() const override { return !chat_ && capabilities_.chat_completions; }

    const RemoteCapabilities & capabilities() const { return capabilities_; }
    // The echo route's request and response shape (capabilities().scoring == "echo").
    EchoShape echo_shape() const { return echo_shape_; }
    const RemoteOptions & options() const { return options_; }

  private:
    void probe_server();  // the constructor's work: identify, probe, decide the routes
    // Non-virtual, so the constructor's probes can use it.
    std::vector<Token> tokenize_on_server(const std::string & text, bool add_special, bool parse_special) const;
    Token special_token(const std::string & text) const;
    void identify_server(const nlohmann::json & props);
    void probe_echo(const std::vector<Token> & probe);

    RemoteOptions options_;
    mutable std::mutex mutex_;  // guards client_
    mutable HttpClient client_;
    ModelFacts facts_;
    RemoteCapabilities capabilities_;
    Token bos_ = -1;
    Token eos_ = -1;
    EchoShape echo_shape_ = EchoShape::VllmEcho;
    bool adds_bos_ = false;               // the server's tokenizer puts BOS in front with add_special
    std::unique_ptr<ChatTemplate> chat_;  // the server's template; null when it has none or it does not render
};

}  // namespace compeval
