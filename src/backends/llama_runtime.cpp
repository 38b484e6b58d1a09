#include "backends/llama_runtime.hpp"

#include <llama.h>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace compeval {
namespace {

std::atomic<bool> g_verbose{false};
std::mutex g_error_mutex;
std::string g_last_error;
std::string g_partial_line;

void log_callback(ggml_log_level level, const char * text, void * /*user*/) {
    if (g_verbose.load()) {
        std::fputs(text, stderr);
    }
    static std::atomic<ggml_log_level> last_level{GGML_LOG_LEVEL_INFO};
    // CONT continues the previous message at the previous level.
    if (level != GGML_LOG_LEVEL_CONT) {
        last_level = level;
    }
    const ggml_log_level effective = level == GGML_LOG_LEVEL_CONT ? last_level.load() : level;
    if (effective != GGML_LOG_LEVEL_ERROR && effective != GGML_LOG_LEVEL_WARN) {
        return;
    }
    std::lock_guard<std::mutex> lock(g_error_mutex);
    g_partial_line += text;
    const auto newline = g_partial_line.find_last_of('\n');
    if (newline == std::string::npos) {
        return;
    }
    std::string complete = g_partial_line.substr(0, newline);
    g_partial_line.erase(0, newline + 1);
    const auto start = complete.find_last_of('\n');
    std::string line = start == std::string::npos ? complete : complete.substr(start + 1);
    if (effective == GGML_LOG_LEVEL_ERROR || g_last_error.empty()) {
        g_last_error = line;
    }
}

}  // namespace

void ensure_llama_backend() {
    static std::once_flag once;
    std::call_once(once, [] {
        llama_log_set(log_callback, nullptr);
        llama_backend_init();
    });
}

void set_llama_verbose(bool verbose) {
    g_verbose = verbose;
}

std::string last_llama_error() {
    std::lock_guard<std::mutex> lock(g_error_mutex);
    return g_last_error;
}

void clear_last_llama_error() {
    std::lock_guard<std::mutex> lock(g_error_mutex);
    g_last_error.clear();
    g_partial_line.clear();
}

}  // namespace compeval
