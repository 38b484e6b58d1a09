#pragma once
// A GGUF model loaded in-process through llama.cpp, with its tokenizer and the
// facts every result records about what produced it.
#include "backends/language_model.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct llama_model;
struct llama_vocab;

namespace compeval {

class ChatTemplate;

struct ModelOptions {
    int n_gpu_layers = 999;  // layers to offload when built with a GPU backend (no effect on CPU builds)
    // Only the tokenizer and metadata (e.g. llama.cpp's models/ggml-vocab-*.gguf):
    // tokenize and render chat templates, nothing to score.
    bool vocab_only = false;
};

class Model : public LanguageModel {
  public:
    // Validates the file (see check_gguf_file) and loads it; throws compeval::Error.
    explicit Model(const std::string & path, const ModelOptions & options = {});
    ~Model() override;
    Model(const Model &) = delete;
    Model & operator=(const Model &) = delete;
    Model(Model &&) = delete;
    Model & operator=(Model &&) = delete;

    const ModelFacts & facts() const override { return facts_; }
    llama_model * raw() const { return model_; }

    // Tokenizes text (see LanguageModel::tokenize).
    std::vector<Token> tokenize(const std::string & text, bool add_bos, bool parse_special = false) const override;
    std::string detokenize(const std::vector<Token> & tokens) const override;
    Token bos() const override;
    Token eos() const override;
    // Through the GGUF's own Jinja template (see chat_template.hpp).
    std::string render_chat(const std::vector<ChatMessage> & messages) const override;

    // The GGUF chat template (tokenizer.chat_template), if any.
    std::optional<std::string> chat_template() const;

  private:
    void read_chat_template();

    llama_model * model_ = nullptr;
    std::unique_ptr<ChatTemplate> chat_;  // parsed once; null when there is none or it does not parse
    const llama_vocab * vocab_ = nullptr;
    ModelFacts facts_;
};

}  // namespace compeval
