// Child processes and loopback HTTP for the tests (declared in
// test_support.hpp): starting, reading and stopping a process, a raw HTTP
// exchange, a free port, a llama-server on a generated model.
#include "test_support.hpp"

#include "tools/loopback_address.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace compeval::test {

namespace {

int exit_code_of(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

pid_t waitpid_retrying(pid_t pid, int & status, int options) {
    pid_t r = 0;
    while ((r = ::waitpid(pid, &status, options)) < 0 && errno == EINTR) {
    }
    return r;
}

}  // namespace

ChildProcess::ChildProcess(ChildProcess && other) noexcept
    : pid(std::exchange(other.pid, -1)),
      exit_code(other.exit_code),
      stdout_fd(std::exchange(other.stdout_fd, -1)),
      stdout_buf(std::move(other.stdout_buf)) {}

ChildProcess & ChildProcess::operator=(ChildProcess && other) noexcept {
    if (this != &other) {
        stop(SIGKILL, std::chrono::milliseconds(0));
        pid = std::exchange(other.pid, -1);
        exit_code = other.exit_code;
        stdout_fd = std::exchange(other.stdout_fd, -1);
        stdout_buf = std::move(other.stdout_buf);
    }
    return *this;
}

ChildProcess::~ChildProcess() {
    stop(SIGKILL, std::chrono::milliseconds(0));
}

bool ChildProcess::running() {
    int status = 0;
    if (pid > 0 && waitpid_retrying(pid, status, WNOHANG) == pid) {
        exit_code = exit_code_of(status);
        pid = -1;
    }
    return pid > 0;
}

int ChildProcess::stop(int sig, std::chrono::milliseconds grace) {
    if (running()) {
        ::kill(pid, sig);
        const auto deadline = std::chrono::steady_clock::now() + grace;
        while (running() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        int status = 0;
        if (pid > 0 && ::kill(pid, SIGKILL) == 0 && waitpid_retrying(pid, status, 0) == pid) {
            exit_code = exit_code_of(status);
        }
        pid = -1;
    }
    if (stdout_fd >= 0) {
        ::close(stdout_fd);
        stdout_fd = -1;
    }
    return exit_code;
}

ChildProcess start_process(const std::vector<std::string> & argv, const std::string & log_path, bool capture_stdout) {
    if (argv.empty()) {
        throw std::runtime_error("start_process: empty argv");
    }
    // Built before fork: between fork and exec only async-signal-safe calls
    // are allowed, since the test binary has other threads (llama.cpp's).
    std::vector<char *> args;
    args.reserve(argv.size() + 1);
    for (const auto & a : argv) {
        args.push_back(const_cast<char *>(a.c_str()));
    }
    args.push_back(nullptr);
    std::array<int, 2> out_pipe = {-1, -1};
    std::array<int, 2> exec_pipe = {-1, -1};  // stays silent unless exec fails: then carries errno
    if ((capture_stdout && ::pipe2(out_pipe.data(), O_CLOEXEC) != 0) || ::pipe2(exec_pipe.data(), O_CLOEXEC) != 0) {
        throw std::runtime_error("start_process: pipe: " + std::string(std::strerror(errno)));
    }
    const int log_fd = log_path.empty() ? -1 : ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const pid_t parent = ::getpid();
    const pid_t pid = log_path.empty() || log_fd >= 0 ? ::fork() : -1;
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no orphaned servers if the test binary crashes
        if (::getppid() != parent) {
            ::_exit(127);
        }
        if (log_fd >= 0) {
            ::dup2(log_fd, STDERR_FILENO);
        }
        ::dup2(capture_stdout ? out_pipe[1] : STDERR_FILENO, STDOUT_FILENO);
        ::execv(args[0], args.data());
        const int err = errno;
        [[maybe_unused]] const ssize_t n = ::write(exec_pipe[1], &err, sizeof err);
        ::_exit(127);
    }
    for (const int fd : {log_fd, out_pipe[1], exec_pipe[1]}) {
        if (fd >= 0) {
            ::close(fd);
        }
    }
    ChildProcess child;
    child.pid = pid;
    child.stdout_fd = out_pipe[0];
    int err = 0;
    ssize_t n = 0;
    while (pid > 0 && (n = ::read(exec_pipe[0], &err, sizeof err)) < 0 && errno == EINTR) {
    }
    ::close(exec_pipe[0]);
    if (pid < 0 || n > 0) {
        const std::string why = pid < 0 ? "cannot start (log " + log_path + ")" : std::strerror(err);
        child.stop(SIGKILL, std::chrono::milliseconds(0));
        throw std::runtime_error("start_process: " + argv[0] + ": " + why);
    }
    return child;
}

std::string read_line(ChildProcess & child, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        const size_t eol = child.stdout_buf.find('\n');
        if (eol != std::string::npos) {
            std::string line = child.stdout_buf.substr(0, eol);
            child.stdout_buf.erase(0, eol + 1);
            return line;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (child.stdout_fd < 0 || left.count() <= 0) {
            throw std::runtime_error("read_line: no line from the child in time; got '" + child.stdout_buf + "'");
        }
        pollfd p{child.stdout_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            continue;  // timeout or EINTR: the deadline check above decides
        }
        std::array<char, 4096> buf{};
        const ssize_t n = ::read(child.stdout_fd, buf.data(), buf.size());
        if (n == 0 || (n < 0 && errno != EINTR)) {
            throw std::runtime_error("read_line: the child closed its stdout; got '" + child.stdout_buf + "'");
        }
        child.stdout_buf.append(buf.data(), static_cast<size_t>(std::max<ssize_t>(n, 0)));
    }
}

std::string http_exchange(int port, const std::string & request, std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const timeval tv{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
                     .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    const sockaddr_in addr = loopback(port);
    std::string out;
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        std::array<char, 16384> buf{};
        ssize_t n = 0;
        while ((n = ::recv(fd, buf.data(), buf.size(), 0)) > 0 || (n < 0 && errno == EINTR)) {
            out.append(buf.data(), static_cast<size_t>(std::max<ssize_t>(n, 0)));
        }
    }
    ::close(fd);
    return out;
}

bool wait_http_ok(int port, const std::string & path, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\nConnection: close\r\n\r\n";
    do {
        const std::string response = http_exchange(port, request, std::chrono::seconds(5));
        if (response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200")) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return false;
}

int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(0);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr *>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0;
    ::close(fd);
    if (!ok) {
        throw std::runtime_error("free_port: " + std::string(std::strerror(errno)));
    }
    return ntohs(addr.sin_port);
}

LlamaServer start_llama_server(const std::string & model, int slots, int context) {
    LlamaServer s;
    s.port = free_port();
    const std::string log = tmp_dir() + "/llama-server-" + std::to_string(s.port) + ".log";
    s.process = start_process({llama_server_binary(),
                               "-m",
                               model,
                               "--host",
                               "127.0.0.1",
                               "--port",
                               std::to_string(s.port),
                               "-c",
                               std::to_string(context),
                               "-np",
                               std::to_string(slots),
                               "-ctk",
                               "f32",
                               "-ctv",
                               "f32",
                               "-fa",
                               "off",
                               "-t",
                               "1",
                               "--no-webui"},
                              log, false);
    if (!wait_http_ok(s.port, "/health", std::chrono::seconds(60))) {
        throw std::runtime_error("llama-server did not become healthy; see " + log);
    }
    return s;
}

}  // namespace compeval::test
