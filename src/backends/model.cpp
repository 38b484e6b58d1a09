#include "backends/model.hpp"

#include "backends/chat_template.hpp"
#include "backends/gguf_check.hpp"
#include "backends/llama_runtime.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"

#include <llama.h>

#include <chrono>
#include <filesystem>

namespace compeval {
namespace {

std::string meta_string(const llama_model * model, const char * key) {
    std::vector<char> buffer(256);
    int32_t n = llama_model_meta_val_str(model, key, buffer.data(), buffer.size());
    if (n < 0) {
        return "";
    }
    if (static_cast<size_t>(n) >= buffer.size()) {
        buffer.resize(static_cast<size_t>(n) + 1);
        n = llama_model_meta_val_str(model, key, buffer.data(), buffer.size());
    }
    return {buffer.data(), static_cast<size_t>(n)};
}

}  // namespace

Model::Model(const std::string & path, const ModelOptions & options) {
    ensure_llama_backend();
    check_gguf_file(path);
    clear_last_llama_error();
    llama_model_params params = llama_model_default_params();
    params.n_gpu_layers = options.n_gpu_layers;
    const auto load_start = std::chrono::steady_clock::now();
    model_ = llama_model_load_from_file(path.c_str(), params);
    facts_.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    if (model_ == nullptr) {
        const std::string cause = last_llama_error();
        throw Error(path + ": llama.cpp could not load the model" + (cause.empty() ? "" : ": " + cause));
    }
    vocab_ = llama_model_get_vocab(model_);

    facts_.path = path;
    facts_.file_bytes = std::filesystem::file_size(path);
    facts_.sha256 = sha256_file(path);
    facts_.architecture = meta_string(model_, "general.architecture");
    facts_.name = meta_string(model_, "general.name");
    facts_.n_params = llama_model_n_params(model_);
    facts_.n_layer = llama_model_n_layer(model_);
    facts_.n_embd = llama_model_n_embd(model_);
    facts_.n_head = llama_model_n_head(model_);
    facts_.n_vocab = llama_vocab_n_tokens(vocab_);
    facts_.n_ctx_train = llama_model_n_ctx_train(model_);
    const char * tmpl = llama_model_chat_template(model_, nullptr);
    facts_.has_chat_template = tmpl != nullptr;
    facts_.chat_template = tmpl != nullptr ? tmpl : "";
    std::vector<char> desc(256);
    llama_model_desc(model_, desc.data(), desc.size());
    facts_.description = desc.data();
}

Model::~Model() {
    if (model_ != nullptr) {
        llama_model_free(model_);
    }
}

std::vector<Token> Model::tokenize(const std::string & text, bool add_special, bool parse_special) const {
    std::vector<Token> tokens(text.size() + 8);
    int32_t n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), add_special, parse_special);
    if (n < 0) {
        tokens.resize(static_cast<size_t>(-n));
        n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                           static_cast<int32_t>(tokens.size()), add_special, parse_special);
    }
    if (n < 0) {
        throw Error("tokenization failed for a text of " + std::to_string(text.size()) + " bytes");
    }
    tokens.resize(static_cast<size_t>(n));
    return tokens;
}

Token Model::bos() const {
    return llama_vocab_bos(vocab_);
}

Token Model::eos() const {
    return llama_vocab_eos(vocab_);
}

std::optional<std::string> Model::chat_template() const {
    const char * tmpl = llama_model_chat_template(model_, nullptr);
    if (tmpl == nullptr) {
        return std::nullopt;
    }
    return std::string(tmpl);
}

std::string Model::render_chat(const std::vector<ChatMessage> & messages) const {
    return render_chat_prompt(*this, messages);
}

}  // namespace compeval
