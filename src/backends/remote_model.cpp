#include "backends/remote_model.hpp"

#include "util/error.hpp"
#include "util/sha256.hpp"

namespace compeval {
namespace {

// What llama-server reports (and applies) when the GGUF has no template of its
// own: llama.cpp's ChatML fallback (common/chat.cpp). compeval never scores an
// instruct model in a format it was not given, so this counts as no template.
constexpr const char * kLlamaCppChatmlFallback =
    "{%- for message in messages -%}\n"
    "  {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "  {{- '<|im_start|>assistant\n' -}}\n"
    "{%- endif -%}";

}  // namespace

nlohmann::json RemoteCapabilities::to_json() const {
    return {{"tokenize", tokenize},
            {"echo_logprobs", echo_logprobs},
            {"forced_tokens", forced_tokens},
            {"embeddings", embeddings},
            {"chat_template", chat_template},
            {"scoring", scoring},
            {"hidden_states_per_layer", false}};
}

RemoteModel::RemoteModel(RemoteOptions options) : options_(std::move(options)), client_(options_.http) {
    const std::string & url = client_.options().base_url;
    const auto models = client_.get_json("/v1/models");
    nlohmann::json entry;
    for (const auto & m : models.value("data", nlohmann::json::array())) {
        if (options_.model.empty() || m.value("id", "") == options_.model) {
            entry = m;
            break;
        }
    }
    if (entry.is_null()) {
        throw Error(url + ": the server lists no model" + (options_.model.empty() ? "" : " named " + options_.model));
    }
    options_.model = entry.value("id", "");
    const auto meta = entry.value("meta", nlohmann::json::object());
    const auto props_response = client_.probe("GET", "/props");
    const auto props = props_response.status == 200 ? nlohmann::json::parse(props_response.body, nullptr, false)
                                                    : nlohmann::json::object();

    facts_.path = url;
    facts_.name = options_.model;
    facts_.architecture = "remote";
    facts_.n_params = meta.value("n_params", uint64_t{0});
    facts_.file_bytes = meta.value("size", uint64_t{0});
    facts_.n_vocab = meta.value("n_vocab", 0);
    facts_.n_ctx_train = meta.value("n_ctx_train", 0);
    facts_.n_embd = meta.value("n_embd", 0);
    facts_.chat_template = props.is_object() ? props.value("chat_template", "") : "";
    if (facts_.chat_template == kLlamaCppChatmlFallback) {
        facts_.chat_template.clear();
    }
    facts_.has_chat_template = !facts_.chat_template.empty();
    facts_.description = "remote model " + options_.model + " at " + url;
    // No file to hash: the identity is what the server says it serves, so a
    // different model behind the same URL gets its own results.
    facts_.sha256 = sha256_string("remote\n" + url + "\n" + options_.model + "\n" +
                                  (props.is_object() ? props.value("model_path", "") : "") + "\n" + meta.dump());

    const auto tok =
        client_.probe("POST", "/tokenize", R"({"content":"a b","add_special":false,"parse_special":false})");
    capabilities_.tokenize = tok.status == 200;
    if (!capabilities_.tokenize) {
        throw Error(url + ": the server has no /tokenize (HTTP " + std::to_string(tok.status) +
                    "); exact context/continuation boundaries need the server's tokenizer");
    }
    if (props.is_object()) {
        bos_ = special_token(props.value("bos_token", ""));
        eos_ = special_token(props.value("eos_token", ""));
    }

    // Echo is probed for the record; llama-server answers "Only no echo is supported".
    const auto echo = client_.probe(
        "POST", "/v1/completions",
        nlohmann::json{{"model", options_.model}, {"prompt", "a b"}, {"max_tokens", 0}, {"echo", true}, {"logprobs", 1}}
            .dump());
    capabilities_.echo_logprobs = echo.status == 200 && echo.body.find("token_logprobs") != std::string::npos;

    const auto probe_tokens = tokenize_on_server("a b", false, false);
    const auto probe_special = tokenize_on_server("a b", true, false);
    adds_bos_ = bos_ >= 0 && !probe_special.empty() && probe_special.front() == bos_ &&
                (probe_tokens.empty() || probe_tokens.front() != bos_);
    if (!probe_tokens.empty()) {
        const Token target = probe_tokens.back();
        std::vector<Token> prompt;
        if (bos_ >= 0) {
            prompt.push_back(bos_);
        }
        prompt.insert(prompt.end(), probe_tokens.begin(), probe_tokens.end() - 1);
        const auto forced = client_.probe("POST", "/completion",
                                          nlohmann::json{{"prompt", prompt},
                                                         {"n_predict", 1},
                                                         {"n_probs", 1},
                                                         {"temperature", 0.0},
                                                         {"logit_bias", {{target, 1e6}}}}
                                              .dump());
        if (forced.status == 200) {
            const auto j = nlohmann::json::parse(forced.body, nullptr, false);
            capabilities_.forced_tokens = j.is_object() && j.contains("completion_probabilities") &&
                                          !j["completion_probabilities"].empty() &&
                                          j["completion_probabilities"][0].value("id", -1) == target;
        }
    }
    const auto embeddings =
        client_.probe("POST", "/v1/embeddings", nlohmann::json{{"model", options_.model}, {"input", "a b"}}.dump());
    capabilities_.embeddings = embeddings.status == 200;
    const auto tmpl = client_.probe("POST", "/apply-template",
                                    nlohmann::json{{"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump());
    capabilities_.chat_template = tmpl.status == 200 && facts_.has_chat_template;
    if (facts_.has_chat_template) {
        try {
            chat_ = std::make_unique<ChatTemplate>(ChatTemplateSource{
                url, facts_.chat_template, props.value("bos_token", ""), props.value("eos_token", ""), adds_bos_});
            record_answer_slot(chat_->answer_slot(), facts_);
        } catch (const Error & e) {
            facts_.chat_template_error = e.what();
        }
    }

    if (capabilities_.forced_tokens) {
        capabilities_.scoring = "forced_tokens";
    } else {
        throw Error(url +
                    ": the server cannot score continuations: forcing a token (/completion with logit_bias and "
                    "n_probs) failed" +
                    std::string(capabilities_.echo_logprobs ? "; scoring by echo is detected but not implemented yet"
                                                            : " and it refuses echo"));
    }
}

Token RemoteModel::special_token(const std::string & text) const {
    if (text.empty()) {
        return -1;
    }
    const auto tokens = tokenize_on_server(text, false, true);
    return tokens.size() == 1 ? tokens[0] : -1;
}

std::vector<Token> RemoteModel::tokenize(const std::string & text, bool add_bos, bool parse_special) const {
    // As in-process: the server's add_special may also append an EOS or SEP,
    // so its BOS is put in front here instead.
    auto tokens = tokenize_on_server(text, false, parse_special);
    if (add_bos && adds_bos_) {
        tokens.insert(tokens.begin(), bos_);
    }
    return tokens;
}

std::vector<Token> RemoteModel::tokenize_on_server(const std::string & text, bool add_special,
                                                   bool parse_special) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto j = client_.post_json(
        "/tokenize", {{"content", text}, {"add_special", add_special}, {"parse_special", parse_special}});
    std::vector<Token> out;
    for (const auto & t : j.at("tokens")) {
        out.push_back(t.is_object() ? t.at("id").get<Token>() : t.get<Token>());
    }
    return out;
}

std::string RemoteModel::detokenize(const std::vector<Token> & tokens) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return client_.post_json("/detokenize", {{"tokens", tokens}}).at("content").get<std::string>();
}

std::string RemoteModel::render_chat(const std::vector<ChatMessage> & messages) const {
    if (!chat_) {
        if (!facts_.chat_template_error.empty()) {
            throw Error(facts_.chat_template_error);
        }
        throw Error(facts_.path + ": the server offers no chat template (/props); there is no fallback format");
    }
    return chat_->render_prompt(messages);
}

}  // namespace compeval
