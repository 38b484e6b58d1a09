#include "scoring/remote_scorer.hpp"

#include "util/error.hpp"

#include <exception>
#include <mutex>
#include <thread>

namespace compeval {

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
    std::vector<double> logprob(jobs.size(), 0.0);
    std::vector<char> greedy(jobs.size(), 0);
    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    std::exception_ptr error;

    auto worker = [&](uint64_t seed) {
        HttpOptions http = model_.options().http;
        http.seed = seed;
        try {
            HttpClient client(http);
            for (size_t j = next++; j < jobs.size(); j = next++) {
                if ((cancel_ != nullptr && cancel_->load()) || error) {
                    break;
                }
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
                const auto & probs = reply.at("completion_probabilities");
                if (probs.empty() || probs[0].value("id", -1) != target) {
                    throw Error(model_.facts().path + ": the server did not return the forced token " +
                                std::to_string(target));
                }
                logprob[j] = probs[0].at("logprob").get<double>();
                const auto & top = probs[0].at("top_logprobs");
                greedy[j] = !top.empty() && top[0].value("id", -1) == target ? 1 : 0;
            }
        } catch (...) {
            const std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) {
                error = std::current_exception();
            }
        }
    };
    const int n_workers = std::max(1, std::min<int>(model_.options().concurrency, static_cast<int>(jobs.size())));
    std::vector<std::thread> threads;
    threads.reserve(static_cast<size_t>(n_workers));
    for (int w = 0; w < n_workers; ++w) {
        threads.emplace_back(worker, model_.options().http.seed + static_cast<uint64_t>(w));
    }
    for (auto & t : threads) {
        t.join();
    }
    if (error) {
        std::rethrow_exception(error);
    }
    if (cancel_ != nullptr && cancel_->load()) {
        throw Error("interrupted");
    }
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

}  // namespace compeval
