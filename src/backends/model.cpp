#include "backends/model.hpp"

#include "backends/chat_template.hpp"
#include "backends/gguf_check.hpp"
#include "backends/llama_runtime.hpp"
#include "backends/quant_types.hpp"
#include "util/error.hpp"
#include "util/sha256.hpp"

#include <ggml-backend.h>
#include <llama.h>

#include <algorithm>
#include <chrono>
#include <set>
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

// llama.cpp's AMX weight buffers (Intel Sapphire Rapids and later) crash in
// ggml_backend_amx_mul_mat on quantized weights with this pinned release
// (llama.cpp issue #20824; llama-perplexity crashes the same way on this
// project's machine). Where the CPU offers them and the model has weights of
// a type they would take, no extra weight buffer is used: the weights are read
// as stored, as on a CPU without AMX. F32/F16/BF16 models keep them.
bool amx_would_take(const std::map<std::string, uint64_t> & params_by_type) {
    static const std::set<std::string> amx_types = {"q4_0", "q4_1", "q8_0", "q4_K", "q5_K", "q6_K", "iq4_xs"};
    return std::any_of(params_by_type.begin(), params_by_type.end(),
                       [](const auto & t) { return amx_types.contains(t.first); });
}

bool cpu_offers_amx_buffers() {
    static const bool amx = [] {
        ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
        if (cpu == nullptr) {
            return false;
        }
        using ExtraBufts = ggml_backend_buffer_type_t * (*)(ggml_backend_dev_t);
        auto get = reinterpret_cast<ExtraBufts>(
            ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(cpu), "ggml_backend_dev_get_extra_bufts"));
        for (ggml_backend_buffer_type_t * b = get != nullptr ? get(cpu) : nullptr; b != nullptr && *b != nullptr; ++b) {
            if (std::string(ggml_backend_buft_name(*b)) == "AMX") {
                return true;
            }
        }
        return false;
    }();
    return amx;
}

}  // namespace

Model::Model(const std::string & path, const ModelOptions & options) {
    ensure_llama_backend();
    const GgufTensorCounts counts = check_gguf_file(path);
    clear_last_llama_error();
    llama_model_params params = llama_model_default_params();
    params.n_gpu_layers = options.n_gpu_layers;
    params.vocab_only = options.vocab_only;
    params.use_extra_bufts = !(amx_would_take(counts.params_by_type) && cpu_offers_amx_buffers());
    facts_.weight_repacking = params.use_extra_bufts;
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
    facts_.n_vocab = llama_vocab_n_tokens(vocab_);
    if (!options.vocab_only) {  // a vocab-only load has no hyperparameters to ask for
        facts_.n_params = llama_model_n_params(model_);
        facts_.n_params_non_embedding = counts.non_embedding_params;
        facts_.tensor_types = counts.params_by_type;
        facts_.bits_per_weight =
            counts.params > 0 ? 8.0 * static_cast<double>(counts.tensor_bytes) / static_cast<double>(counts.params)
                              : 0.0;
        facts_.file_type = quant_type_of_file_type(counts.file_type);
        facts_.n_layer = llama_model_n_layer(model_);
        facts_.n_embd = llama_model_n_embd(model_);
        facts_.n_head = llama_model_n_head(model_);
        facts_.n_ctx_train = llama_model_n_ctx_train(model_);
    }
    const char * tmpl = llama_model_chat_template(model_, nullptr);
    facts_.has_chat_template = tmpl != nullptr;
    facts_.chat_template = tmpl != nullptr ? tmpl : "";
    std::vector<char> desc(256);
    llama_model_desc(model_, desc.data(), desc.size());
    facts_.description = desc.data();
    read_chat_template();
}

// A template that cannot render does not stop a model scored on plain
// prompts: the facts say why, and chat prompts then fail with that reason.
void Model::read_chat_template() {
    if (!facts_.has_chat_template || !chat_templates_available()) {
        return;
    }
    try {
        chat_ = std::make_unique<ChatTemplate>(chat_template_source(*this));
        record_answer_slot(chat_->answer_slot(), facts_);
    } catch (const Error & e) {
        facts_.chat_template_error = e.what();
    }
}

Model::~Model() {
    if (model_ != nullptr) {
        llama_model_free(model_);
    }
}

std::vector<Token> Model::tokenize(const std::string & text, bool add_bos, bool parse_special) const {
    // Without llama.cpp's add_special, which would also append the EOS or SEP
    // some tokenizers (WordPiece) close a text with; its BOS is prepended the
    // same way (the tokenizer conformance test checks it against llama.cpp).
    std::vector<Token> tokens(text.size() + 8);
    int32_t n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), false, parse_special);
    if (n < 0) {
        tokens.resize(static_cast<size_t>(-n));
        n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                           static_cast<int32_t>(tokens.size()), false, parse_special);
    }
    if (n < 0) {
        throw Error("tokenization failed for a text of " + std::to_string(text.size()) + " bytes");
    }
    tokens.resize(static_cast<size_t>(n));
    if (add_bos && llama_vocab_get_add_bos(vocab_) && llama_vocab_bos(vocab_) != LLAMA_TOKEN_NULL) {
        tokens.insert(tokens.begin(), llama_vocab_bos(vocab_));
    }
    return tokens;
}

std::string Model::detokenize(const std::vector<Token> & tokens) const {
    std::string out;
    std::vector<char> piece(64);
    for (const Token t : tokens) {
        if (t < 0 || t >= facts_.n_vocab) {
            throw Error("token " + std::to_string(t) + " is not in the vocabulary of " + facts_.path);
        }
        int32_t n = llama_token_to_piece(vocab_, t, piece.data(), static_cast<int32_t>(piece.size()), 0, true);
        if (n < 0) {
            piece.resize(static_cast<size_t>(-n));
            n = llama_token_to_piece(vocab_, t, piece.data(), static_cast<int32_t>(piece.size()), 0, true);
        }
        if (n < 0) {
            throw Error("cannot read the text of token " + std::to_string(t));
        }
        out.append(piece.data(), static_cast<size_t>(n));
    }
    return out;
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
    if (!chat_) {
        if (!facts_.chat_template_error.empty()) {
            throw Error(facts_.chat_template_error);
        }
        return render_chat_prompt(*this, messages);  // throws: no template, or no Jinja engine in this build
    }
    return chat_->render_prompt(messages);
}

}  // namespace compeval
