#pragma once
// Process-wide llama.cpp state: backend initialisation and log routing.
#include <string>

namespace compeval {

// Initialises the llama.cpp backends once per process (thread-safe).
void ensure_llama_backend();

// By default llama.cpp's informational logging is suppressed; errors are kept
// so that a failure can be reported as one line. Verbose mode passes all
// logging through to stderr.
void set_llama_verbose(bool verbose);

// The last error or warning line llama.cpp logged (trimmed), or "".
std::string last_llama_error();
void clear_last_llama_error();

}  // namespace compeval
