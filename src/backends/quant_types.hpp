#pragma once
// The weight types a GGUF file can be quantized to, by the names
// llama-quantize uses ("Q4_K_M"), and the file type llama.cpp records for
// each (general.file_type). A label is what was asked for; the tensor types a
// file really holds are in its facts (a tensor whose rows do not fit a type's
// block size falls back to another type).
#include <cstdint>
#include <string>
#include <vector>

namespace compeval {

struct QuantType {
    std::string name;    // "Q4_K_M"
    int file_type = -1;  // llama_ftype
    const char * about;  // one line for --help
};

// Every type `compeval quantize` makes: the ones that need no importance matrix.
const std::vector<QuantType> & quant_types();

// Case-insensitive ("q4_k_m" works); throws compeval::Error listing the known names.
const QuantType & quant_type(const std::string & name);

// The label of a general.file_type value ("" when it is not one of quant_types()).
std::string quant_type_of_file_type(int file_type);

// A file or recipe suffix: "q4_k_m".
std::string quant_suffix(const std::string & name);

}  // namespace compeval
