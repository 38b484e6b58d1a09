#include "scoring/remote_scorer.hpp"

#include "util/error.hpp"
#include "util/json_number.hpp"

#include <algorithm>
#include <cmath>

namespace compeval {

ForcedTokenReply parse_forced_token_reply(const nlohmann::json & reply, Token target, const std::string & server) {
    const std::string where = server + ": /completion for forced token " + std::to_string(target) + ": ";
    try {
        const auto & probs = reply.at("completion_probabilities");
        if (!probs.is_array() || probs.empty() || !probs[0].is_object()) {
            throw Error(where + "no completion_probabilities entry");
        }
        const auto & first = probs[0];
        if (json_whole<Token>(first.at("id"), where + "id") != target) {
            throw Error(where + "the server returned token " + first.at("id").dump() + " instead");
        }
        const auto & value = first.at("logprob");
        // A log-probability is finite and at most 0; the tolerance covers the
        // server's float rounding of a probability of 1.
        if (!value.is_number() || !std::isfinite(value.get<double>()) || value.get<double>() > 1e-4) {
            throw Error(where + "logprob " + value.dump() + " is not a log-probability");
        }
        ForcedTokenReply out;
        out.logprob = value.get<double>();
        const auto & top = first.at("top_logprobs");
        out.greedy = top.is_array() && !top.empty() && top[0].is_object() &&
                     json_whole_or<Token>(top[0], "id", -1, where + "top_logprobs[0]") == target;
        return out;
    } catch (const nlohmann::json::exception & e) {
        throw Error(where + "malformed answer (" + e.what() + ")");
    }
}

RemoteScorer::RemoteScorer(const RemoteModel & model, const std::atomic<bool> * cancel)
    : model_(model), cancel_(cancel) {}

std::vector<LoglikelihoodResult> RemoteScorer::loglikelihood_tokens(const std::vector<TokenizedRequest> & requests) {
    // One job per continuation token: (request, position).
    std::vector<std::pair<size_t, size_t>> jobs;
    for (size_t r = 0; r < requests.size(); ++r) {
        const auto & q = requests[r];
        if (q.n_context == 0 || q.tokens.size() <= q.n_context) {
            throw Error("a request needs at least one context and one continuation token");
        }
        for (size_t pos = q.n_context; pos < q.tokens.size(); ++pos) {
            jobs.emplace_back(r, pos);
        }
    }
    if (model_.capabilities().scoring == "echo") {
        return score_by_echo(requests);
    }
    if (model_.capabilities().scoring != "forced_tokens") {
        throw Error(model_.facts().path + ": the server returns no prompt log-probabilities (" +
                    model_.capabilities().echo_error +
                    "); read its answers instead: `answer: generate` or `answer: first_token`");
    }
    std::vector<double> logprob(jobs.size(), 0.0);
    std::vector<char> greedy(jobs.size(), 0);
    for_each_on_connections(
        model_.options().http, model_.options().concurrency, jobs.size(), cancel_, [&](HttpClient & client, size_t j) {
            const auto & [r, pos] = jobs[j];
            const auto & tokens = requests[r].tokens;
            const std::vector<Token> prompt(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(pos));
            const Token target = tokens[pos];
            const auto reply = client.post_json("/completion", {{"prompt", prompt},
                                                                {"n_predict", 1},
                                                                {"n_probs", 1},
                                                                {"temperature", 0.0},
                                                                {"cache_prompt", model_.options().cache_prompt},
                                                                {"logit_bias", {{target, 1e6}}}});
            const auto parsed = parse_forced_token_reply(reply, target, model_.facts().path);
            logprob[j] = parsed.logprob;
            greedy[j] = parsed.greedy ? 1 : 0;
        });
    std::vector<LoglikelihoodResult> out(requests.size());
    for (auto & r : out) {
        r.greedy = true;
    }
    for (size_t j = 0; j < jobs.size(); ++j) {
        auto & r = out[jobs[j].first];
        r.logprob += logprob[j];
        r.n_tokens += 1;
        r.greedy = r.greedy && greedy[j] != 0;
    }
    tokens_ += jobs.size();
    return out;
}

// One request per scored sequence: the server returns every prompt token's
// log-probability; each response passes the same checks as the self-test.
std::vector<LoglikelihoodResult> RemoteScorer::score_by_echo(const std::vector<TokenizedRequest> & requests) {
    std::vector<LoglikelihoodResult> out(requests.size());
    const auto & options = model_.options();
    for_each_on_connections(
        options.http, options.concurrency, requests.size(), cancel_, [&](HttpClient & client, size_t j) {
            const auto & q = requests[j];
            const auto [path, body] = echo_request(model_.echo_shape(), options.model, q.tokens, "");
            const auto parsed = parse_prompt_logprobs(model_.echo_shape(), client.post_json(path, body));
            check_prompt_logprobs(parsed, q.tokens, model_.facts().path);
            LoglikelihoodResult r;
            r.greedy = true;
            for (size_t pos = q.n_context; pos < q.tokens.size(); ++pos) {
                r.logprob += *parsed.logprob[pos];
                r.n_tokens += 1;
                r.greedy = r.greedy && pos < parsed.greedy.size() && parsed.greedy[pos];
            }
            out[j] = r;
        });
    for (const auto & q : requests) {
        tokens_ += q.tokens.size();
    }
    return out;
}

}  // namespace compeval
