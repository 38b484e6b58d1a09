#include "cli/interrupt.hpp"

#include <csignal>

namespace compeval::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop(int /*signal*/) {
    g_stop = true;
}

}  // namespace

const std::atomic<bool> & install_stop_handlers() {
    std::signal(SIGINT, on_stop);
    std::signal(SIGTERM, on_stop);
    return g_stop;
}

}  // namespace compeval::cli
