#include "util/machine.hpp"

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>

namespace compeval {
namespace {

// The first line of /proc/cpuinfo that starts with `key`, after its colon.
std::string cpuinfo_field(const std::string & key) {
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line)) {
        if (line.rfind(key, 0) == 0) {
            const auto colon = line.find(':');
            return colon != std::string::npos && colon + 2 <= line.size() ? line.substr(colon + 2) : "";
        }
    }
    return "";
}

}  // namespace

std::string cpu_features() {
    // In the order a reader compares them: the AVX2 generation, AVX-512 and
    // its 16-bit float extensions (AVX512-FP16 accumulates F16 products in
    // FP16), the integer dot products, AMX.
    static const char * const kRelevant[] = {"avx2",        "fma",         "f16c",        "avx512f",
                                             "avx512_bf16", "avx512_fp16", "avx512_vnni", "avx_vnni",
                                             "amx_bf16",    "amx_int8",    "amx_fp16"};
    std::istringstream flags(cpuinfo_field("flags"));
    const std::set<std::string> present{std::istream_iterator<std::string>(flags),
                                        std::istream_iterator<std::string>()};
    std::string out;
    for (const char * f : kRelevant) {
        if (present.contains(f)) {
            if (!out.empty()) {
                out += ' ';
            }
            out += f;
        }
    }
    return out;
}

std::string machine_description() {
    std::string cpu = cpuinfo_field("model name");
    if (cpu.empty()) {
        cpu = "unknown CPU";
    }
    const std::string features = cpu_features();
    return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads" +
           (features.empty() ? "" : ", " + features);
}

}  // namespace compeval
