#include "backends/quant_types.hpp"

#include "util/error.hpp"

#include <llama.h>

#include <algorithm>
#include <cctype>

namespace compeval {

const std::vector<QuantType> & quant_types() {
    // llama-quantize's names and descriptions; the IQ1/IQ2/IQ3 types and
    // Q2_K_S are left out: llama.cpp needs an importance matrix for them.
    static const std::vector<QuantType> types = {
        {"F32", LLAMA_FTYPE_ALL_F32, "32-bit floats (a copy)"},
        {"F16", LLAMA_FTYPE_MOSTLY_F16, "16-bit floats"},
        {"BF16", LLAMA_FTYPE_MOSTLY_BF16, "bfloat16"},
        {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0, "8.5 bits per weight, blocks of 32"},
        {"Q6_K", LLAMA_FTYPE_MOSTLY_Q6_K, "6.56 bpw, super-blocks of 256"},
        {"Q5_K_M", LLAMA_FTYPE_MOSTLY_Q5_K_M, "Q5_K, some tensors Q6_K"},
        {"Q5_K_S", LLAMA_FTYPE_MOSTLY_Q5_K_S, "Q5_K"},
        {"Q5_1", LLAMA_FTYPE_MOSTLY_Q5_1, "6 bpw, blocks of 32"},
        {"Q5_0", LLAMA_FTYPE_MOSTLY_Q5_0, "5.5 bpw, blocks of 32"},
        {"Q4_K_M", LLAMA_FTYPE_MOSTLY_Q4_K_M, "Q4_K, some tensors Q6_K"},
        {"Q4_K_S", LLAMA_FTYPE_MOSTLY_Q4_K_S, "Q4_K"},
        {"Q4_1", LLAMA_FTYPE_MOSTLY_Q4_1, "5 bpw, blocks of 32"},
        {"Q4_0", LLAMA_FTYPE_MOSTLY_Q4_0, "4.5 bpw, blocks of 32"},
        {"IQ4_NL", LLAMA_FTYPE_MOSTLY_IQ4_NL, "4.5 bpw non-linear, blocks of 32"},
        {"IQ4_XS", LLAMA_FTYPE_MOSTLY_IQ4_XS, "4.25 bpw non-linear, super-blocks of 256"},
        {"Q3_K_L", LLAMA_FTYPE_MOSTLY_Q3_K_L, "Q3_K, more tensors Q5_K"},
        {"Q3_K_M", LLAMA_FTYPE_MOSTLY_Q3_K_M, "Q3_K, some tensors Q4_K/Q5_K"},
        {"Q3_K_S", LLAMA_FTYPE_MOSTLY_Q3_K_S, "Q3_K"},
        {"Q2_K", LLAMA_FTYPE_MOSTLY_Q2_K, "2.6 bpw, some tensors Q4_K"},
    };
    return types;
}

namespace {

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return s;
}

}  // namespace

const QuantType & quant_type(const std::string & name) {
    const std::string wanted = upper(name);
    const auto & types = quant_types();
    const auto found = std::find_if(types.begin(), types.end(), [&](const QuantType & t) { return t.name == wanted; });
    if (found != types.end()) {
        return *found;
    }
    std::string known;
    for (const auto & t : quant_types()) {
        known += (known.empty() ? "" : ", ") + t.name;
    }
    throw Error("unknown weight type '" + name + "' (known: " + known + ")");
}

std::string quant_type_of_file_type(int file_type) {
    const auto & types = quant_types();
    const auto found =
        std::find_if(types.begin(), types.end(), [&](const QuantType & t) { return t.file_type == file_type; });
    return found != types.end() ? found->name : "";
}

std::string quant_suffix(const std::string & name) {
    std::string s = quant_type(name).name;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

}  // namespace compeval
