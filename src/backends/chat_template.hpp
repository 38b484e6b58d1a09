#pragma once
// Chat prompts for instruct models, rendered by the model's own Jinja template
// (GGUF tokenizer.chat_template) through llama.cpp's common library.
//
// Where the answer goes is read off the template itself, never from a list of
// model names. The conversation is rendered with a final assistant message
// holding a sentinel answer (thinking disabled where the template has the
// switch); the text before the sentinel is where the template writes a final
// answer. That is checked against the template's generation prompt (what a
// model is prompted with to answer), and the rule that reconciles the two is
// fixed once per template from a probe conversation (ChatAnswerRule). So the
// scored answer sits after "[/INST] " (Llama 2), after an empty closed
// <think></think> (Qwen3), after harmony's <|channel|>final<|message|>
// (gpt-oss), after Gemma 4's closed thought channel.
//
// Templates that print today's date (Llama 3.x, gpt-oss, Granite...) render
// with the date fixed at 26 Jul 2024 (Llama 3.1's own default), so the same
// item gives the same prompt, and the same stored result, on any day.
#include "backends/model.hpp"

#include <memory>
#include <string>
#include <vector>

namespace compeval {

// The same for any template text, so a server's template (remote models) is
// read exactly as a GGUF's. `bos` and `eos` are the tokenizer's BOS/EOS text
// (the template's bos_token / eos_token); with `tokenizer_adds_bos`, a BOS the
// template writes itself is dropped, since tokenizing the prompt adds one.
struct ChatTemplateSource {
    std::string name;  // for messages: the model file or URL
    std::string text;
    std::string bos;
    std::string eos;
    bool tokenizer_adds_bos = false;
};

// How the sentinel answer and the generation prompt are reconciled.
enum class ChatAnswerRule {
    // The answer's prefix extends the generation prompt (most templates;
    // gpt-oss adds <|channel|>final<|message|>): the answer goes there.
    AfterOpening,
    // The generation prompt opens a thought that the template closes around
    // an assistant's reasoning: the answer goes after an empty closed thought,
    // as the template writes one (MiniMax-M2, Cohere's thinking turns).
    AfterEmptyThought,
    // The generation prompt ends with a thought it opens and closes itself
    // (llama.cpp's reasoning tags for the template), which answers in the
    // conversation are written without: the answer goes after the generation
    // prompt (Gemma 4's closed thought channel, MiniCPM's <think></think>).
    AfterClosedThought,
    // The generation prompt adds something else (an open thought that the
    // template never closes for an answer, as DeepSeek-R1's "<think>\n"): the
    // answer goes where the template writes answers; the facts record both.
    AnswerOnly,
};
const char * chat_answer_rule_name(ChatAnswerRule rule);  // "after_opening", ...

// What a template writes after a user turn, from a probe conversation: the
// turn opening its generation prompt appends, and the text before a scored
// answer under the template's rule.
struct ChatAnswerSlot {
    ChatAnswerRule rule = ChatAnswerRule::AfterOpening;
    std::string turn_opening;
    std::string answer_prefix;
    std::string written_prefix;  // what precedes an answer as the conversation writes one (the sentinel's)
    std::string between;         // answer_prefix after turn_opening, when it extends it
};

// A parsed template, analysed once. Throws compeval::Error naming the
// template when it cannot be parsed or rendered, or renders no assistant
// answer: never a silent fallback to another format.
class ChatTemplate {
  public:
    explicit ChatTemplate(ChatTemplateSource source);
    ~ChatTemplate();
    ChatTemplate(const ChatTemplate &) = delete;
    ChatTemplate & operator=(const ChatTemplate &) = delete;
    ChatTemplate(ChatTemplate &&) = delete;
    ChatTemplate & operator=(ChatTemplate &&) = delete;

    // `messages`, then the assistant turn up to where the answer goes. Holds
    // control tokens as text: tokenize it with parse_special.
    std::string render_prompt(const std::vector<ChatMessage> & messages) const;
    const ChatAnswerSlot & answer_slot() const;
    const ChatTemplateSource & source() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Copies the slot into a model's facts (chat_turn_opening, ...).
void record_answer_slot(const ChatAnswerSlot & slot, ModelFacts & facts);

// The model's template as a ChatTemplateSource (its BOS/EOS text and whether
// its tokenizer adds BOS); throws compeval::Error when it has no template.
ChatTemplateSource chat_template_source(const Model & model);
// Another template with the model's tokenizer (to survey templates).
ChatTemplateSource chat_template_source(const Model & model, const std::string & name, const std::string & text);

// One-off rendering with the model's own template (Model::render_chat keeps a
// parsed one); throws compeval::Error when the model has none.
std::string render_chat_prompt(const Model & model, const std::vector<ChatMessage> & messages);

// False when compeval was built against an installed llama.cpp, which ships no
// Jinja engine; rendering then always throws.
bool chat_templates_available();

}  // namespace compeval
