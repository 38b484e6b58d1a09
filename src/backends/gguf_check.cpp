#include "backends/gguf_check.hpp"

#include "util/error.hpp"

#include <gguf.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <memory>

namespace compeval {

GgufTensorCounts check_gguf_file(const std::string & path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
        throw Error(path + ": no such model file");
    }
    const auto file_size = fs::file_size(path, ec);
    std::ifstream in(path, std::ios::binary);
    std::array<char, 4> magic{};
    if (!in.read(magic.data(), magic.size())) {
        throw Error(path + ": not a GGUF file (only " + std::to_string(file_size) + " bytes)");
    }
    if (std::string(magic.data(), magic.size()) != "GGUF") {
        throw Error(path + ": not a GGUF file (bad magic)");
    }
    gguf_init_params params{true, nullptr};
    std::unique_ptr<gguf_context, decltype(&gguf_free)> ctx(gguf_init_from_file(path.c_str(), params), &gguf_free);
    if (!ctx) {
        throw Error(path + ": corrupt or truncated GGUF header");
    }
    size_t data_end = gguf_get_data_offset(ctx.get());
    GgufTensorCounts counts;
    for (int64_t i = 0; i < gguf_get_n_tensors(ctx.get()); ++i) {
        const size_t bytes = gguf_get_tensor_size(ctx.get(), i);
        data_end = std::max(data_end, gguf_get_data_offset(ctx.get()) + gguf_get_tensor_offset(ctx.get(), i) + bytes);
        const std::string name = gguf_get_tensor_name(ctx.get(), i);
        const ggml_type type = gguf_get_tensor_type(ctx.get(), i);
        if (ggml_type_size(type) == 0) {
            continue;  // a removed type: nothing to count
        }
        const uint64_t n = bytes / ggml_type_size(type) * static_cast<uint64_t>(ggml_blck_size(type));
        if (name != "token_embd.weight" && name != "output.weight") {
            counts.non_embedding_params += n;
        }
        counts.params_by_type[ggml_type_name(type)] += n;
        counts.params += n;
        counts.tensor_bytes += bytes;
    }
    const int64_t file_type_key = gguf_find_key(ctx.get(), "general.file_type");
    if (file_type_key >= 0 && gguf_get_kv_type(ctx.get(), file_type_key) == GGUF_TYPE_UINT32) {
        counts.file_type = static_cast<int>(gguf_get_val_u32(ctx.get(), file_type_key));
    }
    if (data_end > file_size) {
        throw Error(path + ": truncated GGUF (tensor data needs " + std::to_string(data_end) + " bytes, file has " +
                    std::to_string(file_size) + ")");
    }
    return counts;
}

}  // namespace compeval
