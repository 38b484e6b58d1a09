#pragma once
// A one-line description of the machine a result was measured on: its CPU,
// so a price per hour can be matched to the cost, and the CPU features that
// decide llama.cpp's arithmetic, so a score can be matched to the exactness
// figures measured on such a CPU (docs/exactness.md).
#include <string>

namespace compeval {

// The instruction-set features of this CPU that change which kernels
// llama.cpp's CPU backend runs (its build targets this CPU): e.g.
// "avx2 fma f16c avx512f avx512_bf16 avx512_vnni"; "" where /proc/cpuinfo
// does not say.
std::string cpu_features();

// "CPU MODEL NAME, N hardware threads, FEATURES" (from /proc/cpuinfo where present).
std::string machine_description();

}  // namespace compeval
