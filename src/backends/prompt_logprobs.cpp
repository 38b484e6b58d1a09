#include "backends/prompt_logprobs.hpp"

#include "util/error.hpp"
#include "util/json_number.hpp"

#include <cmath>

namespace compeval {
namespace {

std::optional<double> optional_number(const nlohmann::json & v, const std::string & where) {
    if (v.is_null()) {
        return std::nullopt;
    }
    if (!v.is_number()) {
        throw Error(where + " is not a number or null: " + v.dump().substr(0, 80));
    }
    return v.get<double>();
}

const nlohmann::json & field(const nlohmann::json & j, const char * key, const std::string & where) {
    if (!j.is_object() || !j.contains(key)) {
        throw Error("the response has no " + where + key);
    }
    return j[key];
}

const nlohmann::json & first_choice(const nlohmann::json & body) {
    const auto & choices = field(body, "choices", "");
    if (!choices.is_array() || choices.empty()) {
        throw Error("the response has no choices[0]");
    }
    return choices[0];
}

// [logprob, id, text] entries (SGLang).
void read_triples(const nlohmann::json & list, const std::string & where, PromptLogprobs & out) {
    if (!list.is_array()) {
        throw Error(where + " is not a list");
    }
    for (size_t i = 0; i < list.size(); ++i) {
        const auto & e = list[i];
        const std::string at = where + "[" + std::to_string(i) + "]";
        if (!e.is_array() || e.size() < 2 || !e[1].is_number_integer()) {
            throw Error(at + " is not [logprob, token_id, text]");
        }
        out.logprob.push_back(optional_number(e[0], at + "[0]"));
        out.ids.push_back(json_whole<Token>(e[1], at + "[1]"));
    }
}

PromptLogprobs parse_vllm(const nlohmann::json & body, bool prompt_field) {
    const auto & choice = first_choice(body);
    PromptLogprobs out;
    const bool has_ids = choice.contains("prompt_token_ids") && choice["prompt_token_ids"].is_array();
    if (has_ids) {
        for (const auto & id : choice["prompt_token_ids"]) {
            out.ids.push_back(json_whole<Token>(id, "choices[0].prompt_token_ids[]"));
        }
    }
    if (choice.contains("token_ids") && choice["token_ids"].is_array() && !choice["token_ids"].empty()) {
        out.generated = json_whole<Token>(choice["token_ids"][0], "choices[0].token_ids[0]");
    }
    const nlohmann::json logprobs = choice.value("logprobs", nlohmann::json());
    const nlohmann::json token_logprobs =
        logprobs.is_object() ? logprobs.value("token_logprobs", nlohmann::json()) : nlohmann::json();
    if (prompt_field) {
        if (!has_ids) {
            throw Error("choices[0] has prompt_logprobs but no prompt_token_ids to match them (ask return_token_ids)");
        }
        const auto & entries = field(choice, "prompt_logprobs", "choices[0].");
        if (!entries.is_array()) {
            throw Error("choices[0].prompt_logprobs is not a list");
        }
        for (size_t i = 0; i < entries.size(); ++i) {
            const auto & e = entries[i];
            if (e.is_null()) {
                out.logprob.emplace_back(std::nullopt);
                out.greedy.push_back(false);
                continue;
            }
            // Keyed by token id: the prompt's own token is looked up, whatever the dict's order.
            const std::string key = i < out.ids.size() ? std::to_string(out.ids[i]) : "";
            if (!e.is_object() || !e.contains(key)) {
                throw Error("choices[0].prompt_logprobs[" + std::to_string(i) + "] has no entry for the prompt token " +
                            key);
            }
            out.logprob.push_back(optional_number(e[key].value("logprob", nlohmann::json()),
                                                  "choices[0].prompt_logprobs[" + std::to_string(i) + "].logprob"));
            out.greedy.push_back(e[key].value("rank", nlohmann::json()) == 1);
        }
        if (token_logprobs.is_array() && !token_logprobs.empty()) {
            out.generated_logprob = optional_number(token_logprobs.back(), "choices[0].logprobs.token_logprobs[-1]");
        }
        return out;
    }
    if (!token_logprobs.is_array()) {
        throw Error("the response has no choices[0].logprobs.token_logprobs (does the server ignore echo?)");
    }
    nlohmann::json top = logprobs.value("top_logprobs", nlohmann::json::array());
    if (!top.is_array()) {
        top = nlohmann::json::array();
    }
    // The prompt's entries, then the generated token's: without the prompt's
    // ids, every entry but the last is taken as the prompt's, so a truncated
    // response shows as too few entries.
    const size_t n = has_ids ? out.ids.size() : (token_logprobs.empty() ? 0 : token_logprobs.size() - 1);
    for (size_t i = 0; i < token_logprobs.size(); ++i) {
        const auto value =
            optional_number(token_logprobs[i], "choices[0].logprobs.token_logprobs[" + std::to_string(i) + "]");
        if (i >= n) {
            out.generated_logprob = value;
            break;
        }
        out.logprob.push_back(value);
        bool greedy = false;
        if (value && i < top.size() && top[i].is_object()) {
            greedy = true;
            for (const auto & [text, lp] : top[i].items()) {
                greedy = greedy && !(lp.is_number() && lp.get<double>() > *value);
            }
        }
        out.greedy.push_back(greedy);
    }
    return out;
}

}  // namespace

const char * echo_shape_name(EchoShape shape) {
    switch (shape) {
        case EchoShape::VllmPrompt:
            return "vllm_prompt";
        case EchoShape::Tgi:
            return "tgi";
        case EchoShape::Sglang:
            return "sglang";
        case EchoShape::VllmEcho:
            break;
    }
    return "vllm_echo";
}

std::pair<std::string, nlohmann::json> echo_request(EchoShape shape, const std::string & model,
                                                    const std::vector<Token> & prompt, const std::string & text) {
    switch (shape) {
        case EchoShape::Tgi:
            return {
                "/generate",
                {{"inputs", text},
                 {"parameters",
                  {{"max_new_tokens", 1}, {"do_sample", false}, {"details", true}, {"decoder_input_details", true}}}}};
        case EchoShape::Sglang:
            return {"/generate",
                    {{"input_ids", prompt},
                     {"sampling_params", {{"max_new_tokens", 1}, {"temperature", 0.0}}},
                     {"return_logprob", true},
                     {"logprob_start_len", 0},
                     {"top_logprobs_num", 1}}};
        case EchoShape::VllmEcho:
        case EchoShape::VllmPrompt:
            break;
    }
    nlohmann::json body = {{"model", model},          {"prompt", prompt}, {"echo", true},
                           {"logprobs", 1},           {"max_tokens", 1},  {"temperature", 0.0},
                           {"return_token_ids", true}};
    if (shape == EchoShape::VllmPrompt) {
        body["prompt_logprobs"] = 1;
    }
    return {"/v1/completions", body};
}

PromptLogprobs parse_prompt_logprobs(EchoShape shape, const nlohmann::json & body) try {
    if (shape == EchoShape::VllmEcho || shape == EchoShape::VllmPrompt) {
        return parse_vllm(body, shape == EchoShape::VllmPrompt);
    }
    PromptLogprobs out;
    if (shape == EchoShape::Tgi) {
        const auto & details = field(body, "details", "");
        const auto & prefill = field(details, "prefill", "details.");
        if (!prefill.is_array()) {
            throw Error("details.prefill is not a list");
        }
        for (size_t i = 0; i < prefill.size(); ++i) {
            const std::string at = "details.prefill[" + std::to_string(i) + "]";
            out.ids.push_back(json_whole<Token>(field(prefill[i], "id", at + "."), at + ".id"));
            out.logprob.push_back(optional_number(prefill[i].value("logprob", nlohmann::json()), at + ".logprob"));
        }
        const auto & tokens = field(details, "tokens", "details.");
        if (tokens.is_array() && !tokens.empty()) {
            out.generated = json_whole_or<Token>(tokens[0], "id", -1, "details.tokens[0]");
            out.generated_logprob = optional_number(tokens[0].value("logprob", nlohmann::json()), "details.tokens[0]");
        }
        return out;
    }
    const auto & meta = field(body, "meta_info", "");
    read_triples(field(meta, "input_token_logprobs", "meta_info."), "meta_info.input_token_logprobs", out);
    if (meta.contains("input_top_logprobs") && meta["input_top_logprobs"].is_array()) {
        const auto & top = meta["input_top_logprobs"];
        for (size_t i = 0; i < out.ids.size(); ++i) {
            const bool known =
                i < top.size() && top[i].is_array() && !top[i].empty() && top[i][0].is_array() && top[i][0].size() >= 2;
            out.greedy.push_back(known && top[i][0][1] == out.ids[i]);
        }
    }
    PromptLogprobs generated;
    read_triples(field(meta, "output_token_logprobs", "meta_info."), "meta_info.output_token_logprobs", generated);
    if (!generated.ids.empty()) {
        out.generated = generated.ids[0];
        out.generated_logprob = generated.logprob[0];
    }
    return out;
} catch (const nlohmann::json::exception & e) {
    throw Error(std::string("malformed answer (") + e.what() + ")");
}

void check_prompt_logprobs(const PromptLogprobs & got, const std::vector<Token> & prompt, const std::string & server) {
    const std::string failed = server + ": the prompt log-probability self-test failed: ";
    if (got.logprob.size() != prompt.size()) {
        throw Error(failed + "it returned " + std::to_string(got.logprob.size()) + " entries for a prompt of " +
                    std::to_string(prompt.size()) + " tokens" +
                    (got.logprob.empty() ? " (it ignores echo: only the generated token came back)"
                                         : " (a truncated or padded prompt)"));
    }
    if (!got.ids.empty() && got.ids != prompt) {
        throw Error(failed + "the token ids it scored differ from the prompt's");
    }
    for (size_t i = 0; i < got.logprob.size(); ++i) {
        if (i == 0 && got.logprob[0]) {
            throw Error(failed + "the first prompt token has a log-probability (" + std::to_string(*got.logprob[0]) +
                        "): the entries are shifted");
        }
        if (i > 0 && !got.logprob[i]) {
            throw Error(failed + "prompt token " + std::to_string(i) + " has no log-probability");
        }
        if (i > 0 && (!std::isfinite(*got.logprob[i]) || *got.logprob[i] > 1e-6)) {
            throw Error(failed + "prompt token " + std::to_string(i) + " has log-probability " +
                        std::to_string(*got.logprob[i]));
        }
    }
    if (!got.generated_logprob || !std::isfinite(*got.generated_logprob)) {
        throw Error(failed + "no finite log-probability for the generated token");
    }
}

void check_greedy_agreement(const PromptLogprobs & first, const PromptLogprobs & second, const std::string & server,
                            double tolerance) {
    const std::string failed = server + ": the prompt log-probability self-test failed: ";
    if (!second.ids.empty() && first.generated >= 0 && second.ids.back() != first.generated) {
        throw Error(failed + "the prompt scored second does not end with the greedy token " +
                    std::to_string(first.generated));
    }
    if (second.logprob.empty() || !second.logprob.back() || !first.generated_logprob) {
        throw Error(failed + "no log-probability to compare with the greedy token's");
    }
    const double echoed = *second.logprob.back();
    if (std::abs(echoed - *first.generated_logprob) > tolerance) {
        throw Error(failed + "the greedy token got " + std::to_string(*first.generated_logprob) +
                    " when generated but " + std::to_string(echoed) + " as a prompt token");
    }
}

}  // namespace compeval
