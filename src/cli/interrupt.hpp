#pragma once
// Ctrl-C and SIGTERM during a run: the handler only sets a flag, the engine
// stops at the next chunk, and everything committed stays in the store.
#include <atomic>

namespace compeval::cli {

// Installs the SIGINT/SIGTERM handlers and returns the flag they set.
const std::atomic<bool> & install_stop_handlers();

}  // namespace compeval::cli
