// compeval_fault_proxy in front of the real llama-server: every fault kind
// happens and looks to a client as it would from a flaky network or server,
// and whatever is answered 200 is byte-identical to the server's own answer.
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <filesystem>
#include <netinet/in.h>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>

namespace compeval::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kDelay = 150ms;

std::string lower(std::string s) {
    for (char & c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

// The value of header `name` (lower case) in a raw response, or "".
std::string header_of(const std::string & response, const std::string & name) {
    const std::string head = lower(response.substr(0, response.find("\r\n\r\n")));
    const size_t at = head.find("\r\n" + name + ":");
    if (at == std::string::npos) {
        return "";
    }
    const size_t start = head.find_first_not_of(' ', at + name.size() + 3);
    return head.substr(start, head.find("\r\n", start) - start);
}

// Connection and Keep-Alive are about one hop: the proxy sets its own.
std::string without_hop_headers(const std::string & response) {
    const size_t end = response.find("\r\n\r\n");
    std::string out;
    size_t pos = 0;
    while (pos < end) {
        const size_t eol = response.find("\r\n", pos);
        const std::string line = response.substr(pos, eol - pos);
        if (!lower(line).starts_with("connection:") && !lower(line).starts_with("keep-alive:")) {
            out += line + "\r\n";
        }
        pos = eol + 2;
    }
    return out + response.substr(end);
}

// Where a complete chunked body starting at `pos` ends, if it is complete.
std::optional<size_t> chunked_end(const std::string & s, size_t pos) {
    while (true) {
        const size_t eol = s.find("\r\n", pos);
        if (eol == std::string::npos) {
            return std::nullopt;
        }
        const size_t size = std::stoul(s.substr(pos, eol - pos), nullptr, 16);
        if (size == 0) {
            const size_t end = s.find("\r\n\r\n", eol);
            return end == std::string::npos ? std::nullopt : std::optional(end + 4);
        }
        pos = eol + 2 + size + 2;
        if (pos > s.size()) {
            return std::nullopt;
        }
    }
}

// What a client saw of one request.
struct Seen {
    enum Kind { kResponse, kEof, kReset, kCutShort } kind = kCutShort;
    std::string response;  // the whole response for kResponse, else what arrived
    Clock::duration elapsed{};
};

// A client connection to 127.0.0.1:port that is kept alive between requests.
class Client {
  public:
    explicit Client(int port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        const timeval tv{.tv_sec = 60, .tv_usec = 0};  // a hang fails the test instead of stalling it
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) != 0) {
            throw std::runtime_error("cannot connect to the proxy");
        }
    }
    Client(const Client &) = delete;
    Client & operator=(const Client &) = delete;
    Client(Client &&) = delete;
    Client & operator=(Client &&) = delete;
    ~Client() { ::close(fd_); }

    // Sends one request and reads one response, framed by Content-Length or
    // chunked transfer-encoding.
    Seen exchange(const std::string & request) const {
        const auto start = Clock::now();
        Seen seen;
        if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
            return seen;
        }
        std::string & got = seen.response;
        while (true) {
            const size_t head_end = got.find("\r\n\r\n");
            if (head_end != std::string::npos) {
                const std::string length = header_of(got, "content-length");
                const auto end = !length.empty() ? std::optional(head_end + 4 + std::stoul(length))
                                 : header_of(got, "transfer-encoding") == "chunked" ? chunked_end(got, head_end + 4)
                                                                                    : std::nullopt;
                if (end && got.size() >= *end) {
                    EXPECT_EQ(got.size(), *end) << "bytes past the response";
                    seen.kind = Seen::kResponse;
                    break;
                }
            }
            std::array<char, 16384> buf{};
            const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
            if (n > 0) {
                got.append(buf.data(), static_cast<size_t>(n));
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                seen.kind = n < 0 && errno == ECONNRESET ? Seen::kReset
                            : got.empty() && n == 0      ? Seen::kEof
                                                         : Seen::kCutShort;
                break;
            }
        }
        seen.elapsed = Clock::now() - start;
        return seen;
    }

    // Whether the peer has closed (a clean EOF waiting to be read).
    bool peer_closed() const {
        char c = 0;
        return ::recv(fd_, &c, 1, 0) == 0;
    }

  private:
    int fd_;
};

std::string tokenize_http(int i, bool close) {
    const std::string body = R"({"content":"request )" + std::to_string(i) + R"( says hello to the proxy"})";
    return "POST /tokenize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n" + body;
}

nlohmann::json last_json_line(const std::string & text) {
    const size_t start = text.find_last_of('\n', text.size() - 2);
    return nlohmann::json::parse(text.substr(start == std::string::npos ? 0 : start + 1));
}

class FaultProxy : public ::testing::Test {
  protected:
    void SetUp() override {
        const std::string server = llama_server_binary();
        if (server.empty() || !std::filesystem::exists(server)) {
            GTEST_SKIP() << "this build has no llama-server";
        }
        dir_ = temp_dir("fault-proxy");
        server_port_ = free_port();
        // -np 2: the proxy and the direct reference requests may overlap.
        server_ = start_process(
            {server, "-m", model_path("tiny-f32"), "--host", "127.0.0.1", "--port", std::to_string(server_port_), "-c",
             "2048", "-np", "2", "-t", "2", "--no-webui", "--no-warmup"},
            dir_ + "/server.log", false);
        ASSERT_TRUE(wait_http_ok(server_port_, "/health", 120s)) << read_file(dir_ + "/server.log");
    }

    // Starts the proxy in front of the server; returns the port it listens on.
    int start_proxy(const std::vector<std::string> & flags) {
        std::vector<std::string> argv = {fault_proxy_binary(), "--upstream",
                                         "127.0.0.1:" + std::to_string(server_port_)};
        argv.insert(argv.end(), flags.begin(), flags.end());
        proxy_ = start_process(argv, dir_ + "/proxy.err");
        const std::string line = read_line(proxy_, 10s);
        EXPECT_TRUE(line.starts_with("listening 127.0.0.1:")) << line;
        return std::stoi(line.substr(line.rfind(':') + 1));
    }

    // Stops the proxy as a test harness would; returns the summary it prints.
    nlohmann::json stop_proxy() {
        EXPECT_EQ(proxy_.stop(SIGTERM), 0);
        return last_json_line(read_file(dir_ + "/proxy.err"));
    }

    std::string dir_;
    int server_port_ = 0;
    ChildProcess server_;  // declared before proxy_: the proxy stops first
    ChildProcess proxy_;
};

TEST_F(FaultProxy, EveryFaultLooksRightAndEveryAnswerMatchesTheServer) {
    const std::string log = dir_ + "/proxy.json";
    const int port =
        start_proxy({"--seed", "1", "--drop", "0.15", "--reset", "0.15", "--delay", "0.15", "--delay-ms",
                     std::to_string(kDelay.count()), "--error500", "0.15", "--error429", "0.15", "--log", log});
    constexpr int kRequests = 60;
    const std::string injected_body = R"({"error":{"message":"injected fault","type":"server_error"}})";
    int ok = 0;    // 200s
    int slow = 0;  // 200s that took at least kDelay
    int eof = 0;
    int reset = 0;
    int error500 = 0;
    int error429 = 0;
    std::optional<Client> client;
    for (int i = 0; i < kRequests; ++i) {
        SCOPED_TRACE("request " + std::to_string(i));
        const bool close = i % 5 == 4;  // some requests end their connection themselves
        const std::string direct = http_exchange(server_port_, tokenize_http(i, true));
        ASSERT_TRUE(direct.starts_with("HTTP/1.1 200 ")) << direct;
        if (!client) {
            client.emplace(port);
        }
        const Seen seen = client->exchange(tokenize_http(i, close));
        bool keep = !close;
        if (seen.kind == Seen::kResponse && seen.response.starts_with("HTTP/1.1 200 ")) {
            EXPECT_EQ(without_hop_headers(seen.response), without_hop_headers(direct));
            EXPECT_EQ(header_of(seen.response, "connection"), close ? "close" : "keep-alive");
            ++ok;
            slow += seen.elapsed >= kDelay ? 1 : 0;
        } else if (seen.kind == Seen::kResponse) {
            const bool is500 = seen.response.starts_with("HTTP/1.1 500 Internal Server Error\r\n");
            const bool is429 = seen.response.starts_with("HTTP/1.1 429 Too Many Requests\r\n");
            EXPECT_TRUE(is500 || is429) << seen.response;
            EXPECT_TRUE(seen.response.ends_with("\r\n\r\n" + injected_body)) << seen.response;
            EXPECT_EQ(header_of(seen.response, "retry-after"), is429 ? "0" : "");
            error500 += is500 ? 1 : 0;
            error429 += is429 ? 1 : 0;
        } else {
            EXPECT_NE(seen.kind, Seen::kCutShort) << "neither a response, a clean drop nor a reset: " << seen.response;
            eof += seen.kind == Seen::kEof ? 1 : 0;
            reset += seen.kind == Seen::kReset ? 1 : 0;
            keep = false;
        }
        if (seen.kind == Seen::kResponse && close) {
            EXPECT_TRUE(client->peer_closed()) << "Connection: close was not honoured";
        }
        if (!keep) {
            client.reset();
        }
    }

    // The log is written when each outcome is decided, so it is complete now.
    const nlohmann::json logged = nlohmann::json::parse(read_file(log));
    const nlohmann::json summary = stop_proxy();
    EXPECT_EQ(summary, logged);
    EXPECT_EQ(summary["requests"], kRequests);
    int total = 0;
    for (const char * kind : {"forwarded", "dropped", "reset", "delayed", "error500", "error429"}) {
        EXPECT_GE(summary[kind].get<int>(), 1) << kind << " never happened with this seed";
        total += summary[kind].get<int>();
    }
    EXPECT_EQ(total, kRequests);
    EXPECT_EQ(summary["dropped"], eof);
    EXPECT_EQ(summary["reset"], reset);
    EXPECT_EQ(summary["error500"], error500);
    EXPECT_EQ(summary["error429"], error429);
    EXPECT_EQ(summary["forwarded"].get<int>() + summary["delayed"].get<int>(), ok);
    EXPECT_GE(slow, summary["delayed"].get<int>());
    EXPECT_TRUE(wait_http_ok(server_port_, "/health", 5s)) << "the server suffered";
}

TEST_F(FaultProxy, RelaysChunkedStreamsOnAKeptAliveConnection) {
    Client client(start_proxy({}));
    const std::string body = R"({"prompt":"hello","n_predict":4,"stream":true})";
    const std::string stream =
        "POST /completion HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    for (int i = 0; i < 2; ++i) {
        const Seen seen = client.exchange(stream);
        ASSERT_EQ(seen.kind, Seen::kResponse) << seen.response;
        EXPECT_TRUE(seen.response.starts_with("HTTP/1.1 200 ")) << seen.response;
        EXPECT_EQ(header_of(seen.response, "transfer-encoding"), "chunked");
        EXPECT_NE(seen.response.find("data: "), std::string::npos) << seen.response;
    }
    const Seen seen = client.exchange(tokenize_http(0, false));
    ASSERT_EQ(seen.kind, Seen::kResponse);
    EXPECT_EQ(without_hop_headers(seen.response),
              without_hop_headers(http_exchange(server_port_, tokenize_http(0, true))));
    const nlohmann::json summary = stop_proxy();
    EXPECT_EQ(summary["requests"], 3);
    EXPECT_EQ(summary["forwarded"], 3);
}

TEST(FaultProxyArgs, RefusesAnythingButLoopbackAndBadRates) {
    const std::string proxy = fault_proxy_binary();
    EXPECT_EQ(run_command(proxy + " --upstream 10.0.0.1:8080").exit_code, 2);
    EXPECT_EQ(run_command(proxy + " --upstream localhost.example.com:8080").exit_code, 2);
    EXPECT_EQ(run_command(proxy + " --upstream 127.0.0.1:0").exit_code, 2);
    EXPECT_EQ(run_command(proxy + " --upstream 127.0.0.1:8080 --drop 0.6 --reset 0.6").exit_code, 2);
    EXPECT_EQ(run_command(proxy + " --upstream 127.0.0.1:8080 --drop").exit_code, 2);
    EXPECT_EQ(run_command(proxy + " --upstream 127.0.0.1:8080 --bogus 1").exit_code, 2);
}

}  // namespace
}  // namespace compeval::test
