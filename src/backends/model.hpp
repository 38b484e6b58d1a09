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

struct ModelOptions {
    int n_gpu_layers = 999;  // layers to offload when built with a GPU backend (no effect on CPU builds)
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

    // Tokenizes text. add_special adds BOS/EOS as the model's metadata says;
    // parse_special turns control-token text (e.g. "<|im_start|>") into tokens.
    std::vector<Token> tokenize(const std::string & text, bool add_special, bool parse_special = false) const override;
    Token bos() const override;
    Token eos() const override;
    // Through the GGUF's own Jinja template (see chat_template.hpp).
    std::string render_chat(const std::vector<ChatMessage> & messages) const override;

    // The GGUF chat template (tokenizer.chat_template), if any.
    std::optional<std::string> chat_template() const;

  private:
    llama_model * model_ = nullptr;
    const llama_vocab * vocab_ = nullptr;
    ModelFacts facts_;
};

}  // namespace compeval
