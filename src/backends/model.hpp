#pragma once
// A GGUF model loaded in-process through llama.cpp, with its tokenizer and the
// facts every result records about what produced it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct llama_model;
struct llama_vocab;

namespace compeval {

using Token = int32_t;

struct ModelFacts {
    std::string path;
    std::string sha256;
    std::string architecture;
    std::string name;
    uint64_t n_params = 0;
    uint64_t file_bytes = 0;
    int n_layer = 0;
    int n_embd = 0;
    int n_head = 0;
    int n_vocab = 0;
    int n_ctx_train = 0;
    bool has_chat_template = false;
    std::string chat_template;  // the GGUF's Jinja template text, if any
    std::string description;    // llama.cpp's one-line type/size/quant summary
    double load_seconds = 0;    // llama_model_load_from_file's wall time (not the file hash)
};

struct ModelOptions {
    int n_gpu_layers = 999;  // layers to offload when built with a GPU backend (no effect on CPU builds)
};

class Model {
  public:
    // Validates the file (see check_gguf_file) and loads it; throws compeval::Error.
    explicit Model(const std::string & path, const ModelOptions & options = {});
    ~Model();
    Model(const Model &) = delete;
    Model & operator=(const Model &) = delete;
    Model(Model &&) = delete;
    Model & operator=(Model &&) = delete;

    const ModelFacts & facts() const { return facts_; }
    llama_model * raw() const { return model_; }

    // Tokenizes text. add_special adds BOS/EOS as the model's metadata says;
    // parse_special turns control-token text (e.g. "<|im_start|>") into tokens.
    std::vector<Token> tokenize(const std::string & text, bool add_special, bool parse_special = false) const;
    Token bos() const;
    Token eos() const;

    // The GGUF chat template (tokenizer.chat_template), if any.
    std::optional<std::string> chat_template() const;

  private:
    llama_model * model_ = nullptr;
    const llama_vocab * vocab_ = nullptr;
    ModelFacts facts_;
};

}  // namespace compeval
