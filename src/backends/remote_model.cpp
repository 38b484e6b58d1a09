#include "backends/remote_model.hpp"

#include "util/error.hpp"
#include "util/json_number.hpp"
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
    return {{"server", server},
            {"server_version", server_version},
            {"tokenize", tokenize},
            {"echo_logprobs", echo_logprobs},
            {"echo_shape", echo_shape},
            {"echo_error", echo_error},
            {"forced_tokens", forced_tokens},
            {"chat_completions", chat_completions},
            {"embeddings", embeddings},
            {"chat_template", chat_template},
            {"cache_prompt", cache_prompt},
            {"scoring", scoring},
            {"hidden_states_per_layer", false}};
}

// Every answer is read with nlohmann::json's checked accessors; a field of
// the wrong shape escapes as its exception and becomes one line naming the
// server here, never a crash or a default.
RemoteModel::RemoteModel(RemoteOptions options) : options_(std::move(options)), client_(options_.http) {
    try {
        probe_server();
    } catch (const nlohmann::json::exception & e) {
        throw Error(options_.http.base_url + ": the server's answer while identifying it is malformed (" + e.what() +
                    ")");
    }
}

void RemoteModel::probe_server() {
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
    const std::string meta_where = url + "/v1/models meta";
    facts_.n_params = json_whole_or<uint64_t>(meta, "n_params", 0, meta_where);
    facts_.file_bytes = json_whole_or<uint64_t>(meta, "size", 0, meta_where);
    facts_.n_vocab = json_whole_or<int>(meta, "n_vocab", 0, meta_where);
    facts_.n_ctx_train = json_whole_or<int>(meta, "n_ctx_train", 0, meta_where);
    facts_.n_embd = json_whole_or<int>(meta, "n_embd", 0, meta_where);
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

    identify_server(props);
    capabilities_.cache_prompt = options_.cache_prompt;
    const bool llama_server = capabilities_.server == "llama-server";
    if (capabilities_.server != "openai" && capabilities_.server != "tgi") {
        // TGI's /tokenize has no /detokenize to check a boundary with.
        try {
            (void)tokenize_on_server("a b", false, false);
            capabilities_.tokenize = true;
        } catch (const Error &) {
            capabilities_.tokenize = false;
        }
    }
    if (props.is_object()) {
        bos_ = special_token(props.value("bos_token", ""));
        eos_ = special_token(props.value("eos_token", ""));
    }
    const auto chat_probe = client_.probe(
        "POST", "/v1/chat/completions",
        nlohmann::json{
            {"model", options_.model}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 1}}
            .dump());
    capabilities_.chat_completions = chat_probe.status == 200;

    std::vector<Token> probe_tokens;
    if (capabilities_.tokenize) {
        probe_tokens = tokenize_on_server("a b", false, false);
        const auto probe_special = tokenize_on_server("a b", true, false);
        adds_bos_ = bos_ >= 0 && !probe_special.empty() && probe_special.front() == bos_ &&
                    (probe_tokens.empty() || probe_tokens.front() != bos_);
        if (adds_bos_) {
            probe_tokens.insert(probe_tokens.begin(), bos_);  // the prompt as scoring sends it
        }
    }
    if (llama_server && probe_tokens.size() >= 2) {
        const Token target = probe_tokens.back();
        const std::vector<Token> prompt(probe_tokens.begin(), probe_tokens.end() - 1);
        const auto forced = client_.probe("POST", "/completion",
                                          nlohmann::json{{"prompt", prompt},
                                                         {"n_predict", 1},
                                                         {"n_probs", 1},
                                                         {"temperature", 0.0},
                                                         {"logit_bias", {{target, 1e6}}}}
                                              .dump());
        if (forced.status == 200) {
            const auto j = nlohmann::json::parse(forced.body, nullptr, false);
            capabilities_.forced_tokens =
                j.is_object() && j.contains("completion_probabilities") && !j["completion_probabilities"].empty() &&
                json_whole_or<Token>(j["completion_probabilities"][0], "id", -1, url + "/completion") == target;
        }
    }
    const bool want_echo = options_.scoring == "echo" || (options_.scoring == "auto" && !capabilities_.forced_tokens);
    if (want_echo) {
        if (probe_tokens.size() >= 2) {
            probe_echo(probe_tokens);
        } else {
            capabilities_.echo_error = "no tokenizer to build a token-id prompt with";
        }
    }
    const auto embeddings =
        client_.probe("POST", "/v1/embeddings", nlohmann::json{{"model", options_.model}, {"input", "a b"}}.dump());
    capabilities_.embeddings = embeddings.status == 200;
    if (llama_server) {
        const auto tmpl = client_.probe("POST", "/apply-template",
                                        nlohmann::json{{"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump());
        capabilities_.chat_template = tmpl.status == 200 && facts_.has_chat_template;
    }
    if (facts_.has_chat_template) {
        try {
            chat_ = std::make_unique<ChatTemplate>(ChatTemplateSource{
                url, facts_.chat_template, props.value("bos_token", ""), props.value("eos_token", ""), adds_bos_});
            record_answer_slot(chat_->answer_slot(), facts_);
        } catch (const Error & e) {
            facts_.chat_template_error = e.what();
        }
    }

    const std::string forced_why = llama_server ? "forcing a token (/completion with logit_bias and n_probs) failed"
                                                : "forced tokens need llama-server's /completion";
    if (options_.scoring == "forced_tokens" && !capabilities_.forced_tokens) {
        throw Error(url + ": scoring: forced_tokens was asked, but " + forced_why);
    }
    if (options_.scoring == "echo" && !capabilities_.echo_logprobs) {
        throw Error(capabilities_.echo_error.rfind(url, 0) == 0 ? capabilities_.echo_error
                                                                : url + ": " + capabilities_.echo_error);
    }
    if (options_.scoring != "auto" && options_.scoring != "forced_tokens" && options_.scoring != "echo") {
        throw Error(url + ": unknown scoring '" + options_.scoring + "' (auto, forced_tokens, echo)");
    }
    capabilities_.scoring = capabilities_.forced_tokens && options_.scoring != "echo" ? "forced_tokens"
                            : capabilities_.echo_logprobs                             ? "echo"
                                                                                      : "";
    if (capabilities_.scoring.empty() && !capabilities_.chat_completions) {
        throw Error(url + ": the server can neither score continuations (" + forced_why +
                    "; echo: " + capabilities_.echo_error + ") nor answer through /v1/chat/completions");
    }
}

void RemoteModel::identify_server(const nlohmann::json & props) {
    const auto json_of = [this](const char * path) {
        const auto r = client_.probe("GET", path);
        return r.status == 200 ? nlohmann::json::parse(r.body, nullptr, false) : nlohmann::json();
    };
    if (props.is_object() && (props.contains("default_generation_settings") || props.contains("build_info"))) {
        capabilities_.server = "llama-server";
        capabilities_.server_version = props.value("build_info", "");
        return;
    }
    if (const auto info = json_of("/get_model_info"); info.is_object() && info.contains("model_path")) {
        capabilities_.server = "sglang";
        const auto server_info = json_of("/get_server_info");
        capabilities_.server_version = server_info.is_object() ? server_info.value("version", "") : "";
        return;
    }
    if (const auto info = json_of("/info"); info.is_object() && info.contains("model_id")) {
        capabilities_.server = "tgi";
        capabilities_.server_version = info.value("version", "");
        return;
    }
    if (const auto version = json_of("/version"); version.is_object() && version.contains("version")) {
        capabilities_.server = "vllm";
        capabilities_.server_version = version.value("version", "");
        return;
    }
    capabilities_.server = "openai";
}

// The self-test (prompt_logprobs.hpp): the probe prompt, then the probe
// prompt with the server's greedy token appended.
void RemoteModel::probe_echo(const std::vector<Token> & probe) {
    const std::string & url = facts_.path;
    std::vector<EchoShape> shapes = {EchoShape::VllmEcho};
    if (capabilities_.server == "vllm") {
        shapes = {EchoShape::VllmPrompt, EchoShape::VllmEcho};
    } else if (capabilities_.server == "sglang") {
        shapes = {EchoShape::Sglang};
    }
    for (const EchoShape shape : shapes) {
        try {
            auto ask = [&](const std::vector<Token> & prompt) {
                const auto [path, body] = echo_request(shape, options_.model, prompt, "");
                const auto reply = client_.probe("POST", path, body.dump());
                if (reply.status != 200) {
                    throw Error(url + ": the prompt log-probability self-test failed: " + path + " answered HTTP " +
                                std::to_string(reply.status) + ": " + http_error_message(reply.body).substr(0, 160));
                }
                PromptLogprobs parsed;
                try {
                    parsed = parse_prompt_logprobs(shape, nlohmann::json::parse(reply.body));
                } catch (const std::exception & e) {
                    throw Error(url + ": the prompt log-probability self-test failed: " + path + " answered 200, but " +
                                e.what());
                }
                check_prompt_logprobs(parsed, prompt, url);
                return parsed;
            };
            const auto first = ask(probe);
            if (first.generated < 0) {
                throw Error(url + ": the prompt log-probability self-test failed: no id for the generated token");
            }
            auto extended = probe;
            extended.push_back(first.generated);
            check_greedy_agreement(first, ask(extended), url);
            capabilities_.echo_logprobs = true;
            capabilities_.echo_shape = echo_shape_name(shape);
            capabilities_.echo_error.clear();
            echo_shape_ = shape;
            return;
        } catch (const std::exception & e) {
            capabilities_.echo_error = e.what();
        }
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

std::vector<Token> RemoteModel::tokenize_on_server(const std::string & text, bool add_special, bool parse_special) const
    try {
    if (!capabilities_.tokenize && !capabilities_.server.empty() && capabilities_.server != "llama-server" &&
        capabilities_.server != "vllm" && capabilities_.server != "sglang") {
        throw Error(facts_.path + ": the server (" + capabilities_.server +
                    ") offers no tokenizer compeval can check boundaries with; only the first-token and "
                    "generative routes can read it");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const auto j =
        capabilities_.server == "llama-server"
            ? client_.post_json("/tokenize",
                                {{"content", text}, {"add_special", add_special}, {"parse_special", parse_special}})
            : client_.post_json("/tokenize",
                                {{"model", options_.model}, {"prompt", text}, {"add_special_tokens", add_special}});
    std::vector<Token> out;
    for (const auto & t : j.at("tokens")) {
        out.push_back(json_whole<Token>(t.is_object() ? t.at("id") : t, facts_.path + "/tokenize token"));
    }
    return out;
} catch (const nlohmann::json::exception & e) {
    throw Error(facts_.path + ": the server's /tokenize answer is malformed (" + e.what() + ")");
}

std::string RemoteModel::detokenize(const std::vector<Token> & tokens) const try {
    if (!capabilities_.tokenize) {
        throw Error(facts_.path + ": the server offers no /detokenize");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (capabilities_.server == "llama-server") {
        return client_.post_json("/detokenize", {{"tokens", tokens}}).at("content").get<std::string>();
    }
    // vLLM answers {"prompt"}, SGLang {"text"}.
    const auto j = client_.post_json("/detokenize", {{"model", options_.model}, {"tokens", tokens}});
    return j.contains("prompt") ? j.at("prompt").get<std::string>() : j.at("text").get<std::string>();
} catch (const nlohmann::json::exception & e) {
    throw Error(facts_.path + ": the server's /detokenize answer is malformed (" + e.what() + ")");
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
