// compeval_fault_proxy: a loopback-only HTTP/1.1 proxy that misbehaves on
// purpose, so tests can show a run against an OpenAI-compatible server gives
// the same results when the network between them does not.
//
//   compeval_fault_proxy --upstream 127.0.0.1:PORT [--listen-port 0] [--seed 1]
//       [--drop R] [--reset R] [--delay R --delay-ms MS] [--error500 R]
//       [--error429 R] [--hang R] [--trickle R] [--lie R] [--faults-after N]
//       [--log FILE] [--only PATH,PATH...]
//
// --faults-after N forwards the first N requests untouched (a client's
// start-up probes), drawing outcomes from the next one on.
// --only answers 404 for every path not listed (before any fault is drawn),
// so a full server can stand for a narrower API: a chat-only one is
// --only /v1/models,/v1/chat/completions.
// Each request gets exactly one outcome, drawn from a seeded RNG in arrival
// order: dropped, reset, delayed (relayed after MS), error500, error429,
// hung (the request is read and never answered; the connection stays open),
// trickled (a 200 with a huge Content-Length, then one byte every 50 ms for
// as long as the client listens), lied (relayed with its content falsified,
// server_lies.hpp), or forwarded (relayed untouched). The counts therefore
// sum to "requests".
#include "loopback_address.hpp"
#include "http_wire.hpp"
#include "server_lies.hpp"

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
#include <tuple>
#include <utility>
#include <vector>

namespace {

using compeval::test::loopback;
using namespace compeval::test::wire;  // NOLINT(google-build-using-namespace)

struct Options {
    int upstream_port = 0;
    int listen_port = 0;
    uint64_t seed = 1;
    double drop = 0, reset = 0, delay = 0, error500 = 0, error429 = 0, hang = 0, trickle = 0, lie = 0;
    int delay_ms = 0;
    uint64_t faults_after = 0;
    std::string log_path;
    std::vector<std::string> only;  // empty: every path
};

enum class Outcome { kForward, kDrop, kReset, kDelay, kError500, kError429, kHang, kTrickle, kLie };

class Stats {
  public:
    explicit Stats(const Options & opts) : log_path_(opts.log_path), faults_after_(opts.faults_after), rng_(opts.seed) {
        const std::array rates = {opts.drop,     opts.reset, opts.delay,   opts.error500,
                                  opts.error429, opts.hang,  opts.trickle, opts.lie};
        std::partial_sum(rates.begin(), rates.end(), edges_.begin());
    }

    // Counted (and logged) when decided, before acting on it, so whatever the
    // client then observes is already in the log a test reads. `second` says
    // whether a drop happens after forwarding (the server did the work);
    // `draw` picks a lie.
    std::tuple<Outcome, bool, uint64_t> decide() {
        const std::lock_guard lock(mu_);
        // Drawn by hand rather than with std::uniform_real_distribution, whose
        // algorithm varies between standard libraries: same seed, same faults.
        const double u = static_cast<double>(rng_() >> 11U) * 0x1.0p-53;
        const bool after = (rng_() & 1U) != 0;
        const uint64_t draw = rng_();
        ++requests_;
        // edges_[i] closes the band of outcome i + 1; past the last: forward.
        const auto band = std::ranges::upper_bound(edges_, u) - edges_.begin();
        const auto outcome = requests_ <= faults_after_
                                 ? Outcome::kForward
                                 : static_cast<Outcome>(band == std::ssize(edges_) ? 0 : band + 1);
        ++counts_[static_cast<size_t>(outcome)];
        write_log();
        return {outcome, after, draw};
    }

    std::string summary() {
        const std::lock_guard lock(mu_);
        return summary_locked();
    }

  private:
    std::string summary_locked() const {
        static constexpr std::array kNames = {"forwarded", "dropped", "reset",    "delayed", "error500",
                                              "error429",  "hung",    "trickled", "lied"};
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
    uint64_t faults_after_ = 0;
    std::array<double, 8> edges_{};
    std::mutex mu_;
    std::mt19937_64 rng_;
    uint64_t requests_ = 0;
    std::array<uint64_t, 9> counts_{};
};

std::string canned(int status, std::string_view reason, bool keep,
                   std::string_view body = R"({"error":{"message":"injected fault","type":"server_error"}})") {
    return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\nContent-Type: application/json\r\n" +
           (status == 429 ? "Retry-After: 0\r\n" : "") + "Content-Length: " + std::to_string(body.size()) + "\r\n" +
           (keep ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n") + std::string(body);
}

// The framed response with its body falsified (server_lies.hpp) and its
// Content-Length set to match; unchanged when it is chunked or not a shape
// the lies know.
std::string lie_in(const std::string & framed, uint64_t draw) {
    const size_t end = framed.find("\r\n\r\n");
    Message resp;
    if (end == std::string::npos || !parse_head(std::string_view(framed).substr(0, end), resp) ||
        header(resp, "content-length") == nullptr) {
        return framed;
    }
    const auto body = compeval::test::lie_about(framed.substr(end + 4), draw);
    if (!body) {
        return framed;
    }
    std::string out = resp.start_line + "\r\n";
    for (const auto & [k, v] : resp.headers) {
        out += k + ": " + (lower(k) == "content-length" ? std::to_string(body->size()) : v) + "\r\n";
    }
    return out + "\r\n" + *body;
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
        const auto [outcome, after, draw] = stats.decide();
        if (outcome == Outcome::kHang) {
            // Never answer, never close: only the client's timeout ends this.
            std::this_thread::sleep_for(std::chrono::hours(24));
            break;
        }
        if (outcome == Outcome::kTrickle) {
            send_all(client,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{");
            while (send_all(client, " ")) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            break;
        }
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
            if (outcome == Outcome::kLie) {
                reply = lie_in(reply, draw);
            }
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
    const std::array<std::pair<std::string_view, double *>, 8> rates = {{{"--drop", &o.drop},
                                                                         {"--reset", &o.reset},
                                                                         {"--delay", &o.delay},
                                                                         {"--error500", &o.error500},
                                                                         {"--error429", &o.error429},
                                                                         {"--hang", &o.hang},
                                                                         {"--trickle", &o.trickle},
                                                                         {"--lie", &o.lie}}};
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
        } else if (flag == "--faults-after") {
            ok = num.has_value();
            o.faults_after = num.value_or(0);
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
    if (argc % 2 == 0 || o.upstream_port == 0 ||
        o.drop + o.reset + o.delay + o.error500 + o.error429 + o.hang + o.trickle + o.lie > 1.0) {
        std::cerr << "usage: compeval_fault_proxy --upstream 127.0.0.1:PORT [--listen-port 0] [--seed 1] [--drop R]"
                     " [--reset R] [--delay R --delay-ms MS] [--error500 R] [--error429 R] [--hang R] [--trickle R]"
                     " [--lie R] [--faults-after N] [--log FILE]"
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
