#include "scoring/remote_generator.hpp"

#include "util/error.hpp"
#include "util/json_number.hpp"

#include <algorithm>
#include <cmath>

namespace compeval {
namespace {

std::vector<TokenLogprob> top_entries(const nlohmann::json & logprobs) {
    std::vector<TokenLogprob> out;
    if (logprobs.contains("content") && logprobs["content"].is_array()) {
        const auto & content = logprobs["content"];
        if (content.empty()) {
            return out;
        }
        for (const auto & e : content[0].value("top_logprobs", nlohmann::json::array())) {
            out.push_back({e.at("token").get<std::string>(), e.at("logprob").get<double>()});
        }
    } else if (logprobs.contains("top_logprobs") && logprobs["top_logprobs"].is_array() &&
               !logprobs["top_logprobs"].empty() && logprobs["top_logprobs"][0].is_object()) {
        for (const auto & [token, logprob] : logprobs["top_logprobs"][0].items()) {
            out.push_back({token, logprob.get<double>()});
        }
    }
    for (const auto & e : out) {
        if (!std::isfinite(e.logprob) || e.logprob > 1e-4) {
            throw Error("top_logprobs gives '" + e.token + "' the log-probability " + std::to_string(e.logprob) +
                        ", which is not one");
        }
    }
    // Most likely first, whatever order the server (or a JSON map) gave.
    std::stable_sort(out.begin(), out.end(), [](const auto & a, const auto & b) { return a.logprob > b.logprob; });
    return out;
}

}  // namespace

GenerationResult parse_generation_response(const nlohmann::json & body, const std::vector<std::string> & stop,
                                           int top_logprobs) try {
    if (!body.is_object() || !body.contains("choices") || !body["choices"].is_array() || body["choices"].empty()) {
        throw Error("the response has no choices[0]: " + body.dump().substr(0, 200));
    }
    const auto & choice = body["choices"][0];
    GenerationResult result;
    if (choice.contains("message")) {
        const auto & content = choice["message"].value("content", nlohmann::json());
        result.text = content.is_string() ? content.get<std::string>() : "";
    } else if (choice.contains("text") && choice["text"].is_string()) {
        result.text = choice["text"].get<std::string>();
    } else {
        throw Error("choices[0] has neither message.content nor text: " + choice.dump().substr(0, 200));
    }
    const bool cut = cut_at_stop(result.text, stop);
    const auto finish = choice.value("finish_reason", nlohmann::json());
    result.finish = cut || (finish.is_string() && finish.get<std::string>() != "length") ? "stop" : "length";
    if (body.contains("usage") && body["usage"].is_object()) {
        result.n_tokens = json_whole_or<int>(body["usage"], "completion_tokens", 0, "usage");
        if (result.n_tokens < 0) {
            throw Error("usage.completion_tokens is negative (" + std::to_string(result.n_tokens) + ")");
        }
    }
    if (top_logprobs > 0) {
        const auto & logprobs = choice.value("logprobs", nlohmann::json());
        if (logprobs.is_object()) {
            result.first_top = top_entries(logprobs);
        }
        if (result.first_top.empty()) {
            throw Error("the server returned no top_logprobs for the first answer token (asked for " +
                        std::to_string(top_logprobs) + ")");
        }
    }
    return result;
} catch (const nlohmann::json::exception & e) {
    throw Error(std::string("malformed answer (") + e.what() + ")");
}

RemoteGenerator::RemoteGenerator(const RemoteModel & model, const std::atomic<bool> * cancel)
    : model_(model), cancel_(cancel) {}

std::vector<GenerationResult> RemoteGenerator::generate(const std::vector<GenerationRequest> & requests) {
    std::vector<GenerationResult> out(requests.size());
    const auto & options = model_.options();
    for_each_on_connections(
        options.http, options.concurrency, requests.size(), cancel_, [&](HttpClient & client, size_t j) {
            const auto & r = requests[j];
            nlohmann::json body = {{"model", options.model},
                                   {"max_tokens", std::max(r.max_tokens, 1)},
                                   {"temperature", 0.0},
                                   {"cache_prompt", options.cache_prompt}};
            if (!r.stop.empty()) {
                body["stop"] = r.stop;
            }
            const bool chat = !r.messages.empty();
            if (chat) {
                nlohmann::json messages = nlohmann::json::array();
                for (const auto & m : r.messages) {
                    messages.push_back({{"role", m.role}, {"content", m.content}});
                }
                body["messages"] = messages;
                if (r.top_logprobs > 0) {
                    body["logprobs"] = true;
                    body["top_logprobs"] = r.top_logprobs;
                }
            } else {
                body["prompt"] = r.prompt;
                if (r.top_logprobs > 0) {
                    body["logprobs"] = r.top_logprobs;
                }
            }
            const auto reply = client.post_json(chat ? "/v1/chat/completions" : "/v1/completions", body);
            try {
                out[j] = parse_generation_response(reply, r.stop, r.top_logprobs);
            } catch (const Error & e) {
                throw Error(model_.facts().path + ": " + e.what());
            }
            tokens_ += static_cast<uint64_t>(out[j].n_tokens);
        });
    return out;
}

}  // namespace compeval
