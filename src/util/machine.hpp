#pragma once
// A one-line description of the machine a cost was measured on, so a price
// per hour can be matched to it.
#include <string>

namespace compeval {

// "CPU MODEL NAME, N hardware threads" (from /proc/cpuinfo where present).
std::string machine_description();

}  // namespace compeval
