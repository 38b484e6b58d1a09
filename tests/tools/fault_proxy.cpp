// compeval_fault_proxy: a loopback-only HTTP/1.1 proxy that misbehaves on
// purpose, so tests can show a run against an OpenAI-compatible server gives
// the same results when the network between them does not.
//
//   compeval_fault_proxy --upstream 127.0.0.1:PORT [--listen-port 0] [--seed 1]
//       [--drop R] [--reset R] [--delay R --delay-ms MS] [--error500 R]
//       [--error429 R] [--log FILE] [--only PATH,PATH...]
//
// --only answers 404 for every path not listed (before any fault is drawn),
// so a full server can stand for a narrower API: a chat-only one is
// --only /v1/models,/v1/chat/completions.
// Each request gets exactly one outcome, drawn from a seeded RNG in arrival
// order: dropped, reset, delayed (relayed after MS), error500, error429, or
// forwarded (relayed untouched). The counts therefore sum to "requests".
#include "loopback_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using compeval::test::loopback;

struct Options {
    int upstream_port = 0;
    int listen_port = 0;
    uint64_t seed = 1;
    double drop = 0, reset = 0, delay = 0, error500 = 0, error429 = 0;
    int delay_ms = 0;
    std::string log_path;
    std::vector<std::string> only;  // empty: every path
};

enum class Outcome { kForward, kDrop, kReset, kDelay, kError500, kError429 };

class Stats {
  public:
    explicit Stats(const Options & opts) : log_path_(opts.log_path), rng_(opts.seed) {
        const std::array rates = {opts.drop, opts.reset, opts.delay, opts.error500, opts.error429};
        std::partial_sum(rates.begin(), rates.end(), edges_.begin());
    }

    // Counted (and logged) when decided, before acting on it, so whatever the
    // client then observes is already in the log a test reads. `second` says
    // whether a drop happens after forwarding (the server did the work).
    std::pair<Outcome, bool> decide() {
        const std::lock_guard lock(mu_);
        // Drawn by hand rather than with std::uniform_real_distribution, whose
        // algorithm varies between standard libraries: same seed, same faults.
        const double u = static_cast<double>(rng_() >> 11U) * 0x1.0p-53;
        const bool after = (rng_() & 1U) != 0;
        ++requests_;
        // edges_[i] closes the band of outcome i + 1; past the last: forward.
        const auto band = std::ranges::upper_bound(edges_, u) - edges_.begin();
        const auto outcome = static_cast<Outcome>(band == std::ssize(edges_) ? 0 : band + 1);
        ++counts_[static_cast<size_t>(outcome)];
        write_log();
        return {outcome, after};
    }

    std::string summary() {
        const std::lock_guard lock(mu_);
        return summary_locked();
    }

  private:
    std::string summary_locked() const {
        static constexpr std::array kNames = {"forwarded", "dropped", "reset", "delayed", "error500", "error429"};
        std::string out = "{\"requests\":" + std::to_string(requests_);
        for (size_t i = 0; i < kNames.size(); ++i) {
            out += ",\"" + std::string(kNames[i]) + "\":" + std::to_string(counts_[i]);
        }
        return out + "}";
    }

    void write_log() const {
        if (log_path_.empty()) {
            return;
        }
        // Written aside and renamed so a concurrent reader never sees half a line.
        const std::string tmp = log_path_ + ".tmp";
        std::ofstream(tmp) << summary_locked() << "\n";
        std::rename(tmp.c_str(), log_path_.c_str());
    }

    std::string log_path_;
    std::array<double, 5> edges_{};
    std::mutex mu_;
    std::mt19937_64 rng_;
    uint64_t requests_ = 0;
    std::array<uint64_t, 6> counts_{};
};

struct Message {
    std::string start_line;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

std::string lower(std::string s) {
    std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

const std::string * header(const Message & m, std::string_view name) {
    for (const auto & [k, v] : m.headers) {
        if (lower(k) == name) {
            return &v;
        }
    }
    return nullptr;
}

bool parse_head(std::string_view head, Message & m) {
    m = Message{};
    size_t eol = head.find("\r\n");
    m.start_line = std::string(head.substr(0, eol));
    while (eol != std::string_view::npos) {
        head.remove_prefix(eol + 2);
        eol = head.find("\r\n");
        const std::string_view line = head.substr(0, eol);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        const size_t value = std::min(line.find_first_not_of(" \t", colon + 1), line.size());
        m.headers.emplace_back(line.substr(0, colon), line.substr(value));
    }
    return !m.start_line.empty();
}

std::optional<size_t> parse_size(std::string_view s, int base = 10) {
    size_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    return ec == std::errc{} && end != s.data() ? std::optional(v) : std::nullopt;
}

bool send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n <= 0 && errno != EINTR) {
            return false;
        }
        data.remove_prefix(static_cast<size_t>(std::max<ssize_t>(n, 0)));
    }
    return true;
}

// Appends what arrives next; false at EOF or error.
bool recv_some(int fd, std::string & buf) {
    std::array<char, 16384> tmp{};
    ssize_t n = 0;
    while ((n = ::recv(fd, tmp.data(), tmp.size(), 0)) < 0 && errno == EINTR) {
    }
    buf.append(tmp.data(), static_cast<size_t>(std::max<ssize_t>(n, 0)));
    return n > 0;
}

// Reads one request; bytes past it stay in `pending` for the next one.
bool read_request(int fd, std::string & pending, Message & req) {
    size_t end = 0;
    while ((end = pending.find("\r\n\r\n")) == std::string::npos) {
        if (pending.size() > (1U << 20U) || !recv_some(fd, pending)) {
            return false;
        }
    }
    if (!parse_head(std::string_view(pending).substr(0, end), req)) {
        return false;
    }
    pending.erase(0, end + 4);
    // Chunked uploads are not sent by the clients under test; closing is
    // better than guessing a framing and desynchronising the connection.
    if (header(req, "transfer-encoding") != nullptr) {
        return false;
    }
    const std::string * cl = header(req, "content-length");
    const std::optional<size_t> len = cl != nullptr ? parse_size(*cl) : std::optional<size_t>(0);
    if (!len) {
        return false;
    }
    const std::string * expect = header(req, "expect");
    if (expect != nullptr && lower(*expect) == "100-continue" && pending.size() < *len &&
        !send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
        return false;
    }
    while (pending.size() < *len) {
        if (!recv_some(fd, pending)) {
            return false;
        }
    }
    req.body = pending.substr(0, *len);
    pending.erase(0, *len);
    return true;
}

bool keep_alive(const Message & req) {
    const std::string * c = header(req, "connection");
    const std::string conn = c != nullptr ? lower(*c) : "";
    return req.start_line.ends_with("HTTP/1.0") ? conn.find("keep-alive") != std::string::npos
                                                : conn.find("close") == std::string::npos;
}

// Headers minus those about this one hop, which the proxy sets itself.
std::string end_to_end_headers(const Message & m) {
    std::string out;
    for (const auto & [k, v] : m.headers) {
        const std::string n = lower(k);
        if (n != "connection" && n != "keep-alive" && n != "proxy-connection" && n != "expect") {
            out += k + ": " + v + "\r\n";
        }
    }
    return out;
}

// The whole upstream response, or nullopt if the server was unreachable.
// Upstream gets "Connection: close" so its EOF ends the response whatever
// framing it chose; reframe() then gives the client one it can parse.
std::optional<std::string> fetch_upstream(int port, const Message & req) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return std::nullopt;
    }
    const sockaddr_in addr = loopback(port);
    const std::string out = req.start_line + "\r\n" + end_to_end_headers(req) + "Connection: close\r\n\r\n" + req.body;
    std::string raw;
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0 && send_all(fd, out);
    while (ok && recv_some(fd, raw)) {
    }
    ::close(fd);
    return ok ? std::optional(raw) : std::nullopt;
}

// Length of a complete chunked body at the start of `body`, or nullopt if cut short.
std::optional<size_t> chunked_length(std::string_view body) {
    size_t pos = 0;
    while (true) {
        const size_t eol = body.find("\r\n", pos);
        const auto size = eol == std::string_view::npos ? std::nullopt : parse_size(body.substr(pos, eol - pos), 16);
        if (!size) {
            return std::nullopt;
        }
        pos = eol + 2;
        if (*size == 0) {  // then trailers, if any, up to an empty line
            const size_t last = body.find("\r\n\r\n", pos - 2);
            return last == std::string_view::npos ? std::nullopt : std::optional(last + 4);
        }
        pos += *size + 2;
    }
}

// The response as the client should get it: same status, headers and body,
// with explicit framing and a Connection header that matches what the proxy
// will do with the client connection. nullopt if upstream's was cut short.
std::optional<std::string> reframe(const std::string & raw, const Message & req, bool keep) {
    const size_t end = raw.find("\r\n\r\n");
    Message resp;
    if (end == std::string::npos || !parse_head(std::string_view(raw).substr(0, end), resp)) {
        return std::nullopt;
    }
    std::string body = raw.substr(end + 4);
    const size_t sp = resp.start_line.find(' ');
    const size_t status = sp == std::string::npos ? 0 : parse_size(resp.start_line.substr(sp + 1)).value_or(0);
    const std::string * te = header(resp, "transfer-encoding");
    const std::string * cl = header(resp, "content-length");
    const bool chunked = te != nullptr && lower(*te).find("chunked") != std::string::npos;
    const bool no_body = req.start_line.starts_with("HEAD ") || status / 100 == 1 || status == 204 || status == 304;
    std::optional<size_t> len = body.size();  // EOF-delimited unless framed otherwise
    if (no_body || chunked || cl != nullptr) {
        len = no_body ? 0 : chunked ? chunked_length(body) : parse_size(*cl);
    }
    if (!len || body.size() < *len) {
        return std::nullopt;
    }
    body.resize(*len);
    // The proxy, not upstream, is the client's peer: its version applies.
    std::string out =
        "HTTP/1.1" + resp.start_line.substr(std::min(sp, resp.start_line.size())) + "\r\n" + end_to_end_headers(resp);
    if (!no_body && !chunked && cl == nullptr) {  // was delimited by EOF, which the client won't get
        out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    return out + (keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n") + body;
}

std::string canned(int status, std::string_view reason, bool keep,
                   std::string_view body = R"({"error":{"message":"injected fault","type":"server_error"}})") {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\nContent-Type: application/json\r\n" +
           (status == 429 ? "Retry-After: 0\r\n" : "") + "Content-Length: " + std::to_string(body.size()) + "\r\n" +
           (keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n") + std::string(body);
}

void serve_client(const Options & opts, Stats & stats, int client) {
    std::string pending;
    Message req;
    while (read_request(client, pending, req)) {
        const bool keep = keep_alive(req);
        const size_t from = req.start_line.find(' ') + 1;
        const std::string path = req.start_line.substr(from, req.start_line.find(' ', from) - from);
        if (!opts.only.empty() && std::ranges::find(opts.only, path) == opts.only.end()) {
            if (!send_all(client, canned(404, "Not Found", keep,
                                         R"({"error":{"message":"not offered by this API","type":"not_found"}})")) ||
                !keep) {
                break;
            }
            continue;
        }
        const auto [outcome, after] = stats.decide();
        std::string reply;
        if (outcome == Outcome::kError500 || outcome == Outcome::kError429) {
            reply = outcome == Outcome::kError500 ? canned(500, "Internal Server Error", keep)
                                                  : canned(429, "Too Many Requests", keep);
        } else if (outcome == Outcome::kDrop && !after) {
            break;
        } else {
            if (outcome == Outcome::kDelay) {
                std::this_thread::sleep_for(std::chrono::milliseconds(opts.delay_ms));
            }
            const auto raw = fetch_upstream(opts.upstream_port, req);
            const auto framed = raw ? reframe(*raw, req, keep) : std::nullopt;
            if (!framed && outcome != Outcome::kDrop && outcome != Outcome::kReset) {
                std::cerr << "fault_proxy: upstream " << (raw ? "response cut short" : "unreachable") << "\n";
                send_all(client, canned(502, "Bad Gateway", false,
                                        R"({"error":{"message":"upstream failed","type":"server_error"}})"));
                break;
            }
            if (outcome == Outcome::kDrop) {
                break;
            }
            if (outcome == Outcome::kReset) {
                // Half the response, then RST instead of FIN: the client sees a
                // truncated response and a connection reset, not a clean close.
                send_all(client, framed ? framed->substr(0, framed->size() / 2) : "");
                const linger lg{1, 0};
                ::setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
                break;
            }
            reply = *framed;
        }
        if (!send_all(client, reply) || !keep) {
            break;
        }
    }
    ::close(client);
}

bool parse_rate(const char * s, double & out) {
    char * end = nullptr;
    out = std::strtod(s, &end);
    return end != s && *end == '\0' && out >= 0 && out <= 1;
}

std::optional<Options> parse_args(int argc, char ** argv) {
    Options o;
    const std::array<std::pair<std::string_view, double *>, 5> rates = {{{"--drop", &o.drop},
                                                                         {"--reset", &o.reset},
                                                                         {"--delay", &o.delay},
                                                                         {"--error500", &o.error500},
                                                                         {"--error429", &o.error429}}};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const std::string_view value = argv[i + 1];
        const auto num = parse_size(value);
        bool ok = true;
        if (flag == "--upstream") {
            // Loopback only: this tool must never become an open relay.
            const auto port = value.starts_with("127.0.0.1:") ? parse_size(value.substr(10)) : std::nullopt;
            o.upstream_port = port && *port < 65536 ? static_cast<int>(*port) : 0;
            ok = o.upstream_port > 0;
        } else if (flag == "--listen-port" || flag == "--delay-ms") {
            ok = num && *num < 65536;
            (flag == "--delay-ms" ? o.delay_ms : o.listen_port) = static_cast<int>(num.value_or(0));
        } else if (flag == "--seed") {
            ok = num.has_value();
            o.seed = num.value_or(0);
        } else if (flag == "--log") {
            o.log_path = value;
        } else if (flag == "--only") {
            for (size_t at = 0; at <= value.size();) {
                const size_t comma = std::min(value.find(',', at), value.size());
                o.only.emplace_back(value.substr(at, comma - at));
                at = comma + 1;
            }
        } else {
            const auto * r = std::ranges::find(rates, flag, &std::pair<std::string_view, double *>::first);
            ok = r != rates.end() && parse_rate(argv[i + 1], *r->second);
        }
        if (!ok) {
            std::cerr << "fault_proxy: bad argument " << flag << " " << value << "\n";
            return std::nullopt;
        }
    }
    if (argc % 2 == 0 || o.upstream_port == 0 || o.drop + o.reset + o.delay + o.error500 + o.error429 > 1.0) {
        std::cerr << "usage: compeval_fault_proxy --upstream 127.0.0.1:PORT [--listen-port 0] [--seed 1] [--drop R]"
                     " [--reset R] [--delay R --delay-ms MS] [--error500 R] [--error429 R] [--log FILE]"
                     " [--only PATH,PATH...]\n"
                     "(rates in [0,1], summing to at most 1; upstream must be 127.0.0.1)\n";
        return std::nullopt;
    }
    return o;
}

}  // namespace

int main(int argc, char ** argv) {
    const auto opts = parse_args(argc, argv);
    if (!opts) {
        return 2;
    }
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr = loopback(opts->listen_port);
    socklen_t len = sizeof addr;
    if (::bind(listener, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0 || ::listen(listener, 64) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr *>(&addr), &len) != 0) {
        std::perror("fault_proxy: bind 127.0.0.1");
        return 1;
    }
    // Blocked before any thread starts so that only sigwait() below sees them
    // and the summary is printed from a normal context, not a handler.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    // Static: detached client threads use them until _Exit.
    static const Options shared = *opts;
    static Stats stats(shared);
    std::thread([listener] {
        while (true) {
            const int client = ::accept(listener, nullptr, nullptr);
            if (client >= 0) {
                std::thread(serve_client, std::cref(shared), std::ref(stats), client).detach();
            } else if (errno != EINTR && errno != ECONNABORTED) {
                std::perror("fault_proxy: accept");
                return;
            }
        }
    }).detach();
    std::cout << "listening 127.0.0.1:" << ntohs(addr.sin_port) << std::endl;

    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::cerr << stats.summary() << std::endl;
    // _Exit: client threads are still blocked in recv(); nothing to unwind.
    std::_Exit(0);
}
