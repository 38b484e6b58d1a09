#pragma once
// What scoring needs from a language model, wherever it runs: its facts, its
// tokenizer and its chat template. Implemented in-process by Model (llama.cpp)
// and remotely by RemoteModel (an OpenAI-compatible server).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace compeval {

using Token = int32_t;

struct ModelFacts {
    std::string path;
    std::string sha256;
    std::string architecture;
    std::string name;
    uint64_t n_params = 0;
    uint64_t n_params_non_embedding = 0;  // without the token embedding and output layer (0: not known)
    uint64_t file_bytes = 0;
    // How the weights are stored: ggml tensor type -> parameters, the mean
    // bits per weight over all tensors, and the file type the GGUF declares
    // ("Q4_K_M"; "" when none or not a known one). Empty for remote models.
    std::map<std::string, uint64_t> tensor_types;
    double bits_per_weight = 0;
    std::string file_type;
    // Whether llama.cpp may repack weights into its extra CPU buffers (off
    // for quantized weights where the CPU has AMX: see model.cpp).
    bool weight_repacking = true;
    int n_layer = 0;
    int n_embd = 0;
    int n_head = 0;
    int n_vocab = 0;
    int n_ctx_train = 0;
    bool has_chat_template = false;
    std::string chat_template;  // the GGUF's Jinja template text, if any
    // Where the template puts the scored answer (chat_template.hpp), from a
    // probe conversation: what its generation prompt appends after a user
    // turn, what precedes an answer as the conversation writes one, what
    // precedes the scored answer, and the rule that chose it; or why the
    // template cannot render.
    std::string chat_turn_opening;
    std::string chat_written_prefix;
    std::string chat_answer_prefix;
    std::string chat_answer_rule;
    std::string chat_template_error;
    std::string description;  // llama.cpp's one-line type/size/quant summary
    double load_seconds = 0;  // llama_model_load_from_file's wall time (not the file hash)
};

struct ChatMessage {
    std::string role;  // "system", "user" or "assistant"
    std::string content;
};

class LanguageModel {
  public:
    LanguageModel() = default;
    virtual ~LanguageModel() = default;
    LanguageModel(const LanguageModel &) = delete;
    LanguageModel & operator=(const LanguageModel &) = delete;
    LanguageModel(LanguageModel &&) = delete;
    LanguageModel & operator=(LanguageModel &&) = delete;

    virtual const ModelFacts & facts() const = 0;
    // add_bos puts the BOS token in front when the model's tokenizer adds
    // one, and never an EOS or SEP at the end (scored text is continued, not
    // closed); parse_special turns control-token text (e.g. "<|im_start|>")
    // into tokens.
    virtual std::vector<Token> tokenize(const std::string & text, bool add_bos, bool parse_special = false) const = 0;
    // The tokens' text pieces concatenated, control tokens as their text and
    // no leading space removed: what the tokens stand for in the string.
    virtual std::string detokenize(const std::vector<Token> & tokens) const = 0;
    virtual Token bos() const = 0;  // -1 when the model has none
    virtual Token eos() const = 0;
    // Renders the messages with the model's chat template and opens the
    // assistant turn; throws compeval::Error when there is no template (never
    // a silent fallback). The result holds control tokens as text.
    virtual std::string render_chat(const std::vector<ChatMessage> & messages) const = 0;
    // True for a server that takes conversations and applies a template
    // compeval cannot render (a chat-only API): chat prompts go to it as
    // messages, and only answers (not choice likelihoods) can be read.
    virtual bool applies_chat_template() const { return false; }
};

}  // namespace compeval
