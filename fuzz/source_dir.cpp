#include "fuzz_targets.hpp"

namespace compeval::fuzz {

std::string source_dir() {
    return COMPEVAL_SOURCE_DIR;
}

}  // namespace compeval::fuzz
