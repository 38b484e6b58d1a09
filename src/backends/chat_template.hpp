#pragma once
// Chat prompts for instruct models, rendered by the model's own Jinja template
// (GGUF tokenizer.chat_template) through llama.cpp's common library.
#include "backends/model.hpp"

#include <string>
#include <vector>

namespace compeval {

// Renders `messages` and opens the assistant turn, so that an answer scored as
// the continuation of the result is scored inside the assistant turn. Throws
// compeval::Error when the model has no chat template: there is never a silent
// fallback to some other format. The result contains the template's control
// tokens as text; tokenize it with parse_special.
std::string render_chat_prompt(const Model & model, const std::vector<ChatMessage> & messages);

// False when compeval was built against an installed llama.cpp, which ships no
// Jinja engine; render_chat_prompt then always throws.
bool chat_templates_available();

}  // namespace compeval
