#pragma once
// A survey of chat templates: for each template file, whether it renders,
// what its generation prompt opens, where it puts a final answer, and which
// token-boundary rule a yes/no answer there needs with a given tokenizer.
// `compeval chat-templates` writes it as docs/chat-templates.md.
#include "backends/chat_template.hpp"
#include "scoring/requests.hpp"

#include <string>
#include <vector>

namespace compeval {

struct ChatTemplateRow {
    std::string file;  // the template's file name
    bool renders = false;
    std::string error;  // why not, when it does not render
    ChatAnswerSlot slot;
    // The boundary rule of the answers " yes" and " no" after a one-question
    // conversation, tokenized with the survey's tokenizer.
    TokenBoundary yes = TokenBoundary::Joint;
    TokenBoundary no = TokenBoundary::Joint;
    std::string notes;
};

// `vocab` supplies the BOS/EOS text and the tokenizer (a vocab-only model is enough).
std::vector<ChatTemplateRow> survey_chat_templates(const std::vector<std::string> & template_files,
                                                   const Model & vocab);

// The Markdown table, with a header saying which command and tokenizer made it.
std::string chat_template_table_markdown(const std::vector<ChatTemplateRow> & rows, const std::string & vocab_name,
                                         const std::string & command);

}  // namespace compeval
