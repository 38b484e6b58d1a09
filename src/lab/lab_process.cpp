#include "lab/trainer.hpp"

#include <cstdlib>
#include <fstream>
#include <string>

#include <unistd.h>

namespace compeval {

std::string prepare_lab_process(char ** argv) {
    const char * policy = std::getenv("OMP_WAIT_POLICY");
    if (policy == nullptr || std::string(policy) != "PASSIVE") {
        // OpenMP reads the policy once, at start: set it and start again.
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        execv("/proc/self/exe", argv);  // returns only on failure; go on, slower
    }
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool blas = false;
    while (std::getline(maps, line)) {
        if (line.find("openblas") != std::string::npos) {
            return "";
        }
        blas = blas || line.find("libblas") != std::string::npos;
    }
    return blas ? "the BLAS library in use is not OpenBLAS (install libopenblas0-pthread): training will be slow" : "";
}

}  // namespace compeval
