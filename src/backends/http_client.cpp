#include "backends/http_client.hpp"

#include "util/error.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <exception>
#include <thread>
#include <vector>

namespace compeval {
namespace {

struct BodySink {
    std::string body;
    size_t limit = 0;
    bool overflowed = false;
};

size_t append_body(char * data, size_t size, size_t count, void * out) {
    auto & sink = *static_cast<BodySink *>(out);
    if (sink.body.size() + size * count > sink.limit) {
        sink.overflowed = true;
        return 0;  // curl stops the transfer with CURLE_WRITE_ERROR
    }
    sink.body.append(data, size * count);
    return size * count;
}

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// 429 and 5xx may pass on a later try; so may a connection that failed or
// dropped (status 0). Other statuses, 501 Not Implemented included, are the
// server's final word.
bool retryable(long status) {
    return status == 0 || status == 429 || (status >= 500 && status != 501);
}

// splitmix64: a few bits of jitter without locking a shared generator.
uint64_t next_random(uint64_t & state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

}  // namespace

std::string http_error_message(const std::string & body) {
    try {
        const auto j = nlohmann::json::parse(body);
        if (j.contains("error")) {
            const auto & e = j["error"];
            if (e.is_object() && e.contains("message")) {
                return e["message"].get<std::string>();
            }
            if (e.is_string()) {
                return e.get<std::string>();
            }
        }
    } catch (const nlohmann::json::exception &) {
    }
    return body.substr(0, 200);
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)), rng_state_(options_.seed) {
    global_init();
    while (!options_.base_url.empty() && options_.base_url.back() == '/') {
        options_.base_url.pop_back();
    }
    if (!options_.api_key_env.empty()) {
        const char * key = std::getenv(options_.api_key_env.c_str());
        if (key == nullptr || *key == '\0') {
            throw Error("environment variable " + options_.api_key_env + " (the API key) is not set");
        }
        bearer_ = std::string("Authorization: Bearer ") + key;
    }
    curl_ = curl_easy_init();
    if (curl_ == nullptr) {
        throw Error("libcurl could not start");
    }
}

HttpClient::~HttpClient() {
    curl_easy_cleanup(static_cast<CURL *>(curl_));
}

HttpResponse HttpClient::send(const std::string & method, const std::string & path, const std::string & body) {
    if (options_.transport) {
        ++stats_.requests;
        return options_.transport(method, path, body);
    }
    auto * curl = static_cast<CURL *>(curl_);
    curl_easy_reset(curl);
    HttpResponse response;
    const std::string url = options_.base_url + path;
    curl_slist * headers = curl_slist_append(nullptr, "Content-Type: application/json");
    if (!bearer_.empty()) {
        headers = curl_slist_append(headers, bearer_.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout_seconds * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_seconds * 1000));
    BodySink sink{{}, options_.max_response_bytes, false};
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    if (method == "POST") {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    ++stats_.requests;
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        if (sink.overflowed) {
            response.transport_error = "the answer grew past " + std::to_string(options_.max_response_bytes) +
                                       " bytes (max_response_bytes) and was cut off";
        } else if (rc == CURLE_OPERATION_TIMEDOUT) {
            response.transport_error =
                fmt::format("no complete answer within {:g} s (timeout)", options_.timeout_seconds);
        } else {
            response.transport_error = curl_easy_strerror(rc);
        }
        return response;
    }
    response.body = std::move(sink.body);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

void HttpClient::backoff(int attempt) {
    ++stats_.retries;
    // Exponential backoff with full jitter, so parallel workers spread out.
    const double cap = std::min(options_.backoff_max_seconds, options_.backoff_seconds * std::pow(2.0, attempt - 1));
    const double jitter = static_cast<double>(next_random(rng_state_) % 1000000) / 1e6;
    std::this_thread::sleep_for(std::chrono::duration<double>(cap * (0.5 + 0.5 * jitter)));
}

HttpResponse HttpClient::probe(const std::string & method, const std::string & path, const std::string & body) {
    HttpResponse last;
    for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
        last = send(method, path, body);
        if (!retryable(last.status)) {
            return last;
        }
        if (attempt < options_.max_attempts) {
            backoff(attempt);
        }
    }
    return last;
}

namespace {

nlohmann::json parse_or_fail(const std::string & url, const HttpResponse & r, int attempts) {
    if (r.status >= 200 && r.status < 300) {
        try {
            return nlohmann::json::parse(r.body);
        } catch (const nlohmann::json::exception &) {
            throw Error(url + ": the server's answer is not valid JSON");
        }
    }
    if (r.status == 0 || retryable(r.status)) {
        const std::string cause =
            r.status == 0 ? r.transport_error : "HTTP " + std::to_string(r.status) + ": " + http_error_message(r.body);
        throw Error(url + ": gave up after " + std::to_string(attempts) + " attempts: " + cause);
    }
    throw Error(url + ": HTTP " + std::to_string(r.status) + ": " + http_error_message(r.body));
}

}  // namespace

nlohmann::json HttpClient::post_json(const std::string & path, const nlohmann::json & body) {
    return parse_or_fail(options_.base_url + path, probe("POST", path, body.dump()), options_.max_attempts);
}

nlohmann::json HttpClient::get_json(const std::string & path) {
    return parse_or_fail(options_.base_url + path, probe("GET", path), options_.max_attempts);
}

void for_each_on_connections(const HttpOptions & options, int concurrency, size_t n_jobs,
                             const std::atomic<bool> * cancel, const std::function<void(HttpClient &, size_t)> & job) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_mutex;
    std::exception_ptr error;
    auto worker = [&](uint64_t seed) {
        HttpOptions http = options;
        http.seed = seed;
        try {
            HttpClient client(http);
            for (size_t j = next++; j < n_jobs; j = next++) {
                if ((cancel != nullptr && cancel->load()) || failed.load()) {
                    break;
                }
                job(client, j);
            }
        } catch (...) {
            const std::lock_guard<std::mutex> lock(error_mutex);
            if (!error) {
                error = std::current_exception();
            }
            failed = true;
        }
    };
    const int n_workers = std::max(1, std::min<int>(concurrency, static_cast<int>(n_jobs)));
    std::vector<std::thread> threads;
    threads.reserve(static_cast<size_t>(n_workers));
    for (int w = 0; w < n_workers; ++w) {
        threads.emplace_back(worker, options.seed + static_cast<uint64_t>(w));
    }
    for (auto & t : threads) {
        t.join();
    }
    if (error) {
        std::rethrow_exception(error);
    }
    if (cancel != nullptr && cancel->load()) {
        throw Error("interrupted");
    }
}

}  // namespace compeval
