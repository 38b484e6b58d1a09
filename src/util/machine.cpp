#include "util/machine.hpp"

#include <fstream>
#include <thread>

namespace compeval {

std::string machine_description() {
    std::string cpu = "unknown CPU";
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos && colon + 2 <= line.size()) {
                cpu = line.substr(colon + 2);
            }
            break;
        }
    }
    return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads";
}

}  // namespace compeval
