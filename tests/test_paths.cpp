// The paths of this build that the tests need. They come from CMake as
// definitions of this one file only: a definition naming the checkout's
// folder on every test file's command line would make the compiler cache
// miss all of them in a clone in another folder.
#include "test_support.hpp"

namespace compeval::test {

std::string source_dir() {
    return COMPEVAL_SOURCE_DIR;
}

std::string model_dir() {
    return COMPEVAL_TEST_MODEL_DIR;
}

std::string tmp_dir() {
    return COMPEVAL_TEST_TMP_DIR;
}

std::string compeval_binary() {
    return COMPEVAL_BINARY;
}

std::string llama_perplexity_binary() {
    return COMPEVAL_LLAMA_PERPLEXITY;
}

std::string llama_server_binary() {
    return COMPEVAL_LLAMA_SERVER;
}

std::string fault_proxy_binary() {
    return COMPEVAL_FAULT_PROXY;
}

std::string node_modules() {
    return COMPEVAL_NODE_MODULES;
}

}  // namespace compeval::test
