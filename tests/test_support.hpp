#pragma once
// Shared fixtures: generated model files (made once per build tree), an
// independent one-request-at-a-time reference scorer, and a command runner.
#include "backends/model.hpp"
#include "model/random_model.hpp"
#include "scoring/requests.hpp"

#include <chrono>
#include <csignal>
#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace compeval::test {

// A minimal chat template for generated instruct models.
inline constexpr const char * kChatTemplate =
    "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>"
    "{% endif %}";

// "tiny-f16", "tiny-f32", "small-f16", "small-f32", "tiny-f32-<vocab>" (another
// of llama.cpp's vocab files, e.g. "llama-bpe"), or "chat-<preset>-<label>" with
// a template: generated on first use into the build tree.
std::string model_path(const std::string & name, const std::string & chat_template = "");

// model_path(source) quantized to `type` ("Q8_0") with llama.cpp's quantizer,
// made on first use beside it.
std::string quantized_model_path(const std::string & source, const std::string & type);

// llama.cpp's models/ggml-vocab-<vocab>.gguf of this build.
std::string vocab_path(const std::string & vocab);

// A random model of any architecture make-model writes, generated on first
// use under a name made of its fields (label tells apart templates).
struct ArchModel {
    std::string architecture = "llama";
    WeightType weights = WeightType::F32;
    std::string vocab = "llama-spm";
    std::string preset = "tiny";
    int n_head_kv = 0;       // 0: the preset's
    int head_dim = 0;        // 0: n_embd / n_head
    int sliding_window = 0;  // Gemma; 0: the real models'
    std::string chat_template;
    std::string label;
};
std::string arch_model_path(const ArchModel & model);

// A fresh empty directory for one test.
std::string temp_dir(const std::string & name);

// ../shared/data beside the checkout; tests that read it skip where it is absent.
std::string shared_data_dir();

struct CommandResult {
    int exit_code = -1;
    std::string out;
    std::string err;
};
CommandResult run_command(const std::string & command);
// This build's paths (test_paths.cpp): the checkout, the generated test
// models, scratch space, the compeval binary, llama-perplexity, the npm
// packages of the browser test.
std::string source_dir();
std::string model_dir();
std::string tmp_dir();
std::string compeval_binary();
std::string llama_perplexity_binary();
std::string node_modules();

// Scores each request alone: its whole token sequence in one sequence of an
// emptied context, logits from the first position that predicts a
// continuation token on, log-softmax in double precision. ubatch > 0 feeds
// the sequence to llama.cpp that many tokens at a time (0: all at once); 1,
// token by token, keeps the context a request shares with the one before.
std::vector<LoglikelihoodResult> reference_loglikelihood(const Model & model,
                                                         const std::vector<TokenizedRequest> & requests,
                                                         int ubatch = 0);

// Logits (n_vocab floats) predicting the token after tokens[0..pos], for
// one position or for every one (all at once, one sequence).
std::vector<float> reference_logits(const Model & model, const std::vector<Token> & tokens, size_t pos);
std::vector<std::vector<float>> reference_logits(const Model & model, const std::vector<Token> & tokens);

// log p(token) under one row of logits, log-softmax in double; and whether
// the token was the row's argmax.
std::pair<double, bool> token_logprob(const float * logits, int n_vocab, Token token);

std::string read_file(const std::string & path);

// Writes DIR/NAME and returns its path.
std::string write(const std::string & dir, const std::string & name, const std::string & text);

// Writes a few AddOne-RTE rows in its release layout (7 tab-separated columns,
// no header, the phrase marked <b><u>...</u></b>) under `dir` as
// addone-entailment/splits/data.test, since that data is not shipped; returns
// the file's path. Scores 4.6, 1.4, 3.5 (premise s1) and 3.0 (premise s2).
std::string write_addone_fixture(const std::string & dir);

// A yes/no task "judge" (four items, split "test", a plain and a chat prompt)
// as DIR/task.yaml over DIR/items.tsv; `extra` is added to its scoring
// section (lines indented by two spaces). Returns the task file's path.
std::string write_yes_no_task(const std::string & dir, const std::string & extra);

// A self-contained suite over generated data as DIR/suite.yaml: two tasks
// (yes/no and ranked pairs over `rows` rows), a base and a chat model.
std::string write_toy_suite(const std::string & dir, size_t rows);
// The message of the compeval::Error that f throws, or "<no error>".
std::string error_of(const std::function<void()> & f);

// ---- Child processes and loopback HTTP, for tests that run llama-server or
// compeval_fault_proxy next to compeval. ----

// llama-server and compeval_fault_proxy of this build. A build
// without llama-server gives "" or "...-NOTFOUND": check the file exists.
std::string llama_server_binary();
std::string fault_proxy_binary();

// A running child process. Destroying it stops it (SIGKILL at once), so a
// failed assertion never leaves a server behind; it also gets SIGKILL if the
// test binary dies. Move-only.
struct ChildProcess {
    pid_t pid = -1;          // -1 once reaped
    int exit_code = -1;      // once reaped: as run_command's (128 + signal if one ended it)
    int stdout_fd = -1;      // read end of its stdout pipe; -1 when not captured
    std::string stdout_buf;  // read from stdout_fd, not yet returned by read_line

    ChildProcess() = default;
    ChildProcess(const ChildProcess &) = delete;
    ChildProcess & operator=(const ChildProcess &) = delete;
    ChildProcess(ChildProcess && other) noexcept;
    ChildProcess & operator=(ChildProcess && other) noexcept;
    ~ChildProcess();

    // Sends `sig`, waits up to `grace` for it to exit, then SIGKILLs it;
    // returns exit_code (that of an earlier exit if it had already ended).
    int stop(int sig = SIGTERM, std::chrono::milliseconds grace = std::chrono::seconds(10));
    // Whether it has not exited yet; reaps it (setting exit_code) if it has.
    bool running();
};

// Starts argv[0] (a path, not looked up in PATH) with arguments argv[1..].
// stderr goes to the file log_path (truncated), or to the test's stderr when
// log_path is "". stdout is piped for read_line when capture_stdout, else it
// goes where stderr goes: a chatty child whose stdout nobody reads would block
// once the pipe fills. Throws std::runtime_error if it cannot be executed.
ChildProcess start_process(const std::vector<std::string> & argv, const std::string & log_path = "",
                           bool capture_stdout = true);

// The next line the child writes to stdout, without its '\n'. Throws
// std::runtime_error if none is complete within `timeout` or stdout closes.
std::string read_line(ChildProcess & child, std::chrono::milliseconds timeout);

// Sends `request` (raw bytes, which should say "Connection: close") to
// 127.0.0.1:port and returns all it receives until the server closes, or ""
// if it cannot connect; gives up after `timeout` of silence.
std::string http_exchange(int port, const std::string & request,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Polls GET http://127.0.0.1:port<path> until it answers 200 (true) or
// `timeout` has passed (false).
bool wait_http_ok(int port, const std::string & path, std::chrono::milliseconds timeout);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0 and
// released), for a child that must be told its port up front.
int free_port();

// llama-server (this build's) serving `model` on 127.0.0.1 with an F32 KV
// cache, flash attention off and one thread, so its numbers can be compared
// with the in-process engine; ready once /health answers. Its log goes to
// build/test-tmp/llama-server-PORT.log. Throws std::runtime_error if it does
// not come up within a minute.
struct LlamaServer {
    ChildProcess process;
    int port = 0;
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};
LlamaServer start_llama_server(const std::string & model, int slots, int context = 4096);

}  // namespace compeval::test
