#pragma once
// A JSON-over-HTTP client for OpenAI-compatible servers (libcurl): timeouts,
// retries with exponential backoff and jitter on 429, 5xx and dropped
// connections, a clear error for other 4xx. One client per thread (a curl
// handle is not thread-safe); each keeps its connection alive.
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace compeval {

struct HttpResponse {
    long status = 0;  // 0: no HTTP response (connection failed, dropped or timed out)
    std::string body;
    std::string transport_error;  // why there is no response when status is 0
};

// Answers a request in place of the network (method, path, body). The fuzz
// targets feed server answers to the real parsers through it.
using HttpTransport = std::function<HttpResponse(const std::string &, const std::string &, const std::string &)>;

struct HttpOptions {
    std::string base_url;     // e.g. http://127.0.0.1:8080
    std::string api_key_env;  // environment variable holding a bearer token ("" = none)
    // One attempt's whole exchange, the answer's last byte included: a server
    // that accepts and never answers, or trickles bytes forever, ends here.
    double timeout_seconds = 300;
    double connect_timeout_seconds = 10;
    // A larger answer is cut off and counts as no answer (a server streaming
    // garbage forever must not fill the memory).
    size_t max_response_bytes = size_t{256} << 20U;
    int max_attempts = 8;  // per request, the first try included
    double backoff_seconds = 0.1;
    double backoff_max_seconds = 5;
    uint64_t seed = 1;        // jitter
    HttpTransport transport;  // empty: libcurl
};

struct HttpStats {
    uint64_t requests = 0;  // attempts sent
    uint64_t retries = 0;
};

class HttpClient {
  public:
    explicit HttpClient(HttpOptions options);
    ~HttpClient();
    HttpClient(const HttpClient &) = delete;
    HttpClient & operator=(const HttpClient &) = delete;
    HttpClient(HttpClient &&) = delete;
    HttpClient & operator=(HttpClient &&) = delete;

    // One attempt, no retry.
    HttpResponse send(const std::string & method, const std::string & path, const std::string & body = "");
    // Retries what may pass (429, 5xx, no response) and returns the last
    // answer, whatever it is: for capability probes, where a 4xx is an answer.
    HttpResponse probe(const std::string & method, const std::string & path, const std::string & body = "");

    // POST (or GET with an empty body) until a 2xx, retrying what may pass;
    // throws compeval::Error "URL: ..." naming the status and the server's
    // message, or the transport error after the last attempt.
    nlohmann::json post_json(const std::string & path, const nlohmann::json & body);
    nlohmann::json get_json(const std::string & path);

    const HttpStats & stats() const { return stats_; }
    const HttpOptions & options() const { return options_; }

  private:
    void backoff(int attempt);

    HttpOptions options_;
    std::string bearer_;
    void * curl_ = nullptr;
    uint64_t rng_state_;
    HttpStats stats_;
};

// Runs job(client, j) for every j in [0, n_jobs), `concurrency` at a time,
// each worker on its own connection (jitter seeds options.seed + worker).
// Rethrows the first job's error after every worker stopped; throws
// "interrupted" when `cancel` was set.
void for_each_on_connections(const HttpOptions & options, int concurrency, size_t n_jobs,
                             const std::atomic<bool> * cancel, const std::function<void(HttpClient &, size_t)> & job);

// The server's error message in an OpenAI-style error body, else the body.
std::string http_error_message(const std::string & body);

}  // namespace compeval
