#include "model/quantize.hpp"

#include "backends/gguf_check.hpp"
#include "backends/llama_runtime.hpp"
#include "backends/quant_types.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"
#include "version.hpp"

#include <llama.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

namespace compeval {
namespace {

nlohmann::json record_for(const std::string & source_sha256, const std::string & type) {
    return {{"source_sha256", source_sha256}, {"type", type}, {"llama_cpp", kLlamaVersion}};
}

}  // namespace

QuantizeResult quantize_gguf(const std::string & source, const std::string & out, const std::string & type,
                             const QuantizeOptions & options) {
    namespace fs = std::filesystem;
    const QuantType & t = quant_type(type);
    const GgufTensorCounts counts = check_gguf_file(source);
    static const std::set<std::string> unquantized = {"f32", "f16", "bf16"};
    for (const auto & [tensor_type, n] : counts.params_by_type) {
        if (!unquantized.contains(tensor_type) && !options.allow_requantize) {
            throw Error(source + ": already quantized (" + std::to_string(n) + " weights are " + tensor_type +
                        "); quantize from an F32, F16 or BF16 file, or allow requantizing");
        }
    }
    const fs::path out_path(out);
    if (out_path.has_parent_path() && !fs::is_directory(out_path.parent_path())) {
        throw Error(out + ": no such directory " + out_path.parent_path().string());
    }
    ensure_llama_backend();
    clear_last_llama_error();
    llama_model_quantize_params params = llama_model_quantize_default_params();
    params.nthread = options.threads;
    params.ftype = static_cast<llama_ftype>(t.file_type);
    params.allow_requantize = options.allow_requantize;
    // A temporary name per process: shards quantizing the same file at once
    // each rename a complete file into place.
    const std::string tmp = out + ".tmp-" + std::to_string(getpid());
    const auto start = std::chrono::steady_clock::now();
    const uint32_t rc = llama_model_quantize(source.c_str(), tmp.c_str(), &params);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::error_code ec;
    if (rc != 0) {
        fs::remove(tmp, ec);
        const std::string cause = last_llama_error();
        throw Error(source + ": llama.cpp could not quantize it to " + t.name + (cause.empty() ? "" : ": " + cause));
    }
    fs::rename(tmp, out, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error(out + ": cannot write the quantized model");
    }
    return {t.name, seconds, fs::file_size(source), fs::file_size(out)};
}

std::string quantized_path_beside(const std::string & source, const std::string & type) {
    const std::filesystem::path p(source);
    return (p.parent_path() / (p.stem().string() + "-" + quant_suffix(type) + ".gguf")).string();
}

bool ensure_quantized(const std::string & source, const std::string & out, const std::string & type,
                      const QuantizeOptions & options) {
    namespace fs = std::filesystem;
    const std::string label = quant_type(type).name;
    const std::string record_path = out + ".json";
    if (fs::exists(out) && !fs::exists(record_path)) {
        return false;  // the user's own quantized file
    }
    const std::string source_sha = sha256_file(source);
    const auto wanted = record_for(source_sha, label);
    if (fs::exists(out)) {
        std::ifstream in(record_path);
        if (nlohmann::json::parse(in, nullptr, false) == wanted) {
            return false;
        }
    }
    quantize_gguf(source, out, label, options);
    const std::string tmp = record_path + ".tmp-" + std::to_string(getpid());
    std::ofstream(tmp) << wanted.dump(2) << '\n';
    fs::rename(tmp, record_path);
    return true;
}

}  // namespace compeval
