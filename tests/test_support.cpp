#include "test_support.hpp"

#include "model/quantize.hpp"

#include "tools/loopback_address.hpp"

#include "model/random_model.hpp"
#include "util/error.hpp"

#include <llama.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>

namespace compeval::test {
namespace fs = std::filesystem;

std::string vocab_path(const std::string & vocab) {
    return (fs::path(default_vocab_path()).parent_path() / ("ggml-vocab-" + vocab + ".gguf")).string();
}

std::string model_path(const std::string & name, const std::string & chat_template) {
    const std::string path = std::string(COMPEVAL_TEST_MODEL_DIR) + "/" + name + ".gguf";
    if (fs::exists(path)) {
        return path;
    }
    // "<preset>-f16|f32[-<vocab>]" or "chat-<preset>-<label>"
    const auto dash = name.find('-');
    const std::string kind = name.substr(0, dash);
    const std::string rest = name.substr(dash + 1);
    RandomModelSpec spec = random_model_preset(kind == "chat" ? rest.substr(0, rest.find('-')) : kind);
    const std::string weights = rest.substr(0, rest.find('-'));
    spec.weights = kind == "chat" || weights == "f16" ? WeightType::F16 : WeightType::F32;
    if (kind != "chat" && rest.find('-') != std::string::npos) {
        spec.vocab_path = vocab_path(rest.substr(rest.find('-') + 1));
    }
    spec.chat_template = chat_template;
    write_random_model(spec, path);
    return path;
}

std::string quantized_model_path(const std::string & source, const std::string & type) {
    const std::string from = model_path(source);
    const std::string path = quantized_path_beside(from, type);
    ensure_quantized(from, path, type);
    return path;
}

std::string arch_model_path(const ArchModel & m) {
    std::string name = m.architecture + "-" + m.preset + "-" + weight_type_name(m.weights) + "-" + m.vocab;
    if (!m.label.empty()) {
        name += "-" + m.label;
    }
    const std::string path = std::string(COMPEVAL_TEST_MODEL_DIR) + "/" + name + ".gguf";
    if (fs::exists(path)) {
        return path;
    }
    // general.name stays the preset's: llama.cpp keys some tokenizer
    // attributes on it (a name with "phi3" expects Phi-3's special tokens).
    RandomModelSpec spec = random_model_preset(m.preset);
    spec.architecture = m.architecture;
    spec.weights = m.weights;
    spec.vocab_path = vocab_path(m.vocab);
    spec.n_head_kv = m.n_head_kv > 0 ? m.n_head_kv : spec.n_head_kv;
    spec.head_dim = m.head_dim;
    spec.sliding_window = m.sliding_window > 0 ? m.sliding_window : spec.sliding_window;
    spec.chat_template = m.chat_template;
    write_random_model(spec, path);
    return path;
}

std::string shared_data_dir() {
    return std::string(COMPEVAL_SOURCE_DIR) + "/../shared/data";
}

std::string temp_dir(const std::string & name) {
    const fs::path dir = fs::path(COMPEVAL_TEST_TMP_DIR) / (name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir.string();
}

CommandResult run_command(const std::string & command) {
    const std::string err_path = temp_dir("stderr") + "/err.txt";
    CommandResult result;
    FILE * pipe = popen((command + " 2>" + err_path).c_str(), "r");
    if (pipe == nullptr) {
        return result;
    }
    std::array<char, 4096> buffer{};
    size_t n = 0;
    while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
        result.out.append(buffer.data(), n);
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.err = read_file(err_path);
    return result;
}

std::string compeval_binary() {
    return COMPEVAL_BINARY;
}

std::string error_of(const std::function<void()> & f) {
    try {
        f();
    } catch (const Error & e) {
        return e.what();
    }
    return "<no error>";
}

std::string write(const std::string & dir, const std::string & name, const std::string & text) {
    const std::string path = dir + "/" + name;
    std::ofstream(path, std::ios::binary) << text;
    return path;
}

std::string read_file(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

namespace {

using ContextPtr = std::unique_ptr<llama_context, decltype(&llama_free)>;

ContextPtr single_sequence_context(const Model & model, size_t n_tokens) {
    llama_context_params p = llama_context_default_params();
    p.n_ctx = static_cast<uint32_t>(std::max<size_t>(n_tokens, 64));
    p.n_batch = p.n_ctx;
    p.n_ubatch = p.n_ctx;
    p.n_seq_max = 1;
    p.n_threads = 1;
    p.n_threads_batch = 1;
    p.type_k = GGML_TYPE_F32;
    p.type_v = GGML_TYPE_F32;
    p.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    return ContextPtr(llama_init_from_model(model.raw(), p), &llama_free);
}

// Decodes tokens in chunks of `step`; returns the logits of every position.
std::vector<std::vector<float>> decode_all(llama_context * ctx, const std::vector<Token> & tokens, size_t step,
                                           int n_vocab) {
    std::vector<std::vector<float>> logits;
    llama_batch batch = llama_batch_init(static_cast<int32_t>(tokens.size()), 0, 1);
    for (size_t first = 0; first < tokens.size(); first += step) {
        const size_t last = std::min(tokens.size(), first + step);
        batch.n_tokens = 0;
        for (size_t i = first; i < last; ++i) {
            const int j = batch.n_tokens++;
            batch.token[j] = tokens[i];
            batch.pos[j] = static_cast<llama_pos>(i);
            batch.n_seq_id[j] = 1;
            batch.seq_id[j][0] = 0;
            batch.logits[j] = 1;
        }
        if (llama_decode(ctx, batch) != 0) {
            llama_batch_free(batch);
            throw std::runtime_error("reference decode failed");
        }
        for (int j = 0; j < batch.n_tokens; ++j) {
            const float * row = llama_get_logits_ith(ctx, j);
            logits.emplace_back(row, row + n_vocab);
        }
    }
    llama_batch_free(batch);
    return logits;
}

}  // namespace

std::vector<LoglikelihoodResult> reference_loglikelihood(const Model & model,
                                                         const std::vector<TokenizedRequest> & requests, int ubatch) {
    const int n_vocab = model.facts().n_vocab;
    std::vector<LoglikelihoodResult> out;
    for (const auto & r : requests) {
        auto ctx = single_sequence_context(model, r.tokens.size());
        const auto all =
            decode_all(ctx.get(), r.tokens, ubatch > 0 ? static_cast<size_t>(ubatch) : r.tokens.size(), n_vocab);
        LoglikelihoodResult res;
        res.greedy = true;
        for (size_t pos = r.n_context; pos < r.tokens.size(); ++pos) {
            const float * logits = all[pos - 1].data();
            double max_v = logits[0];
            int argmax = 0;
            for (int v = 1; v < n_vocab; ++v) {
                if (logits[v] > max_v) {
                    max_v = logits[v];
                    argmax = v;
                }
            }
            double sum = 0.0;
            for (int v = 0; v < n_vocab; ++v) {
                sum += std::exp(static_cast<double>(logits[v]) - max_v);
            }
            res.logprob += static_cast<double>(logits[r.tokens[pos]]) - max_v - std::log(sum);
            res.greedy = res.greedy && argmax == r.tokens[pos];
            ++res.n_tokens;
        }
        out.push_back(res);
    }
    return out;
}

std::vector<float> reference_logits(const Model & model, const std::vector<Token> & tokens, size_t pos) {
    auto ctx = single_sequence_context(model, tokens.size());
    return decode_all(ctx.get(), tokens, tokens.size(), model.facts().n_vocab)[pos];
}

std::string write_addone_fixture(const std::string & dir) {
    std::filesystem::create_directories(dir + "/addone-entailment/splits");
    const std::string path = dir + "/addone-entailment/splits/data.test";
    std::ofstream(path) << "4.6\tentailed\ts1\tnew\trecord\tThe runner set a <b><u>record</u></b>.\t"
                           "The runner set a <b><u>new record</u></b>.\n"
                        << "1.4\tnot-entailed\ts1\told\trecord\tThe runner set a <b><u>record</u></b>.\t"
                           "The runner set an <b><u>old record</u></b>.\n"
                        << "3.5\tnot-entailed\ts1\tfine\trecord\tThe runner set a <b><u>record</u></b>.\t"
                           "The runner set a <b><u>fine record</u></b>.\n"
                        << "3.0\tnot-entailed\ts2\tfake\tgun\tHe held a <b><u>gun</u></b> .\t"
                           "He held a <b><u>fake gun</u></b> .\n";
    return path;
}

std::string llama_server_binary() {
    return COMPEVAL_LLAMA_SERVER;
}

std::string fault_proxy_binary() {
    return COMPEVAL_FAULT_PROXY;
}

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
    const std::string log = std::string(COMPEVAL_TEST_TMP_DIR) + "/llama-server-" + std::to_string(s.port) + ".log";
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

std::string write_yes_no_task(const std::string & dir, const std::string & extra) {
    test::write(dir, "items.tsv",
                "statement\tanswer\na fake gun is a gun\tno\na red apple is a fruit\tyes\n"
                "a former senator is a senator\tno\na small elephant is an elephant\tyes\n");
    return test::write(dir, "task.yaml",
                       "name: judge\ncategory: test\ndata:\n  format: tsv\n  splits: {test: \"" + dir +
                           "/items.tsv\"}\nscoring:\n  mode: label_words\n  label: answer\n"
                           "  label_words: {\"yes\": \" yes\", \"no\": \" no\"}\n" +
                           extra +
                           "metrics: [acc]\nprompts:\n  - name: q\n    plain: \"Is it true that {{statement}}? "
                           "Answer:\"\n    chat:\n      user: \"Is it true that {{statement}}?\"\n");
}

}  // namespace compeval::test
