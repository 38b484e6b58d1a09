#pragma once
// HTTP/1.1 on the wire, as compeval_fault_proxy reads and relays it: request
// and response heads, bodies framed by Content-Length, chunks or EOF, and
// the blocking socket reads and writes under them.
#include "loopback_address.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace compeval::test::wire {

struct Message {
    std::string start_line;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

inline std::string lower(std::string s) {
    std::ranges::transform(s, s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

inline const std::string * header(const Message & m, std::string_view name) {
    for (const auto & [k, v] : m.headers) {
        if (lower(k) == name) {
            return &v;
        }
    }
    return nullptr;
}

inline bool parse_head(std::string_view head, Message & m) {
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

inline std::optional<size_t> parse_size(std::string_view s, int base = 10) {
    size_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    return ec == std::errc{} && end != s.data() ? std::optional(v) : std::nullopt;
}

inline bool send_all(int fd, std::string_view data) {
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
inline bool recv_some(int fd, std::string & buf) {
    std::array<char, 16384> tmp{};
    ssize_t n = 0;
    while ((n = ::recv(fd, tmp.data(), tmp.size(), 0)) < 0 && errno == EINTR) {
    }
    buf.append(tmp.data(), static_cast<size_t>(std::max<ssize_t>(n, 0)));
    return n > 0;
}

// Reads one request; bytes past it stay in `pending` for the next one.
inline bool read_request(int fd, std::string & pending, Message & req) {
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

inline bool keep_alive(const Message & req) {
    const std::string * c = header(req, "connection");
    const std::string conn = c != nullptr ? lower(*c) : "";
    return req.start_line.ends_with("HTTP/1.0") ? conn.find("keep-alive") != std::string::npos
                                                : conn.find("close") == std::string::npos;
}

// Headers minus those about this one hop, which the proxy sets itself.
inline std::string end_to_end_headers(const Message & m) {
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
inline std::optional<std::string> fetch_upstream(int port, const Message & req) {
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
inline std::optional<size_t> chunked_length(std::string_view body) {
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
inline std::optional<std::string> reframe(const std::string & raw, const Message & req, bool keep) {
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

}  // namespace compeval::test::wire
