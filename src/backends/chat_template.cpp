#include "backends/chat_template.hpp"

#include "util/error.hpp"

#ifdef COMPEVAL_HAVE_LLAMA_COMMON
#include <chat.h>
#endif

namespace compeval {

bool chat_templates_available() {
#ifdef COMPEVAL_HAVE_LLAMA_COMMON
    return true;
#else
    return false;
#endif
}

std::string render_chat_prompt(const Model & model, const std::vector<ChatMessage> & messages) {
    const auto tmpl = model.chat_template();
    if (!tmpl) {
        throw Error(model.facts().path +
                    ": model has no chat template (tokenizer.chat_template); "
                    "score it as a base model or use a GGUF that carries one");
    }
#ifdef COMPEVAL_HAVE_LLAMA_COMMON
    try {
        // Passing the template explicitly (not "") keeps common from ever
        // substituting its ChatML default.
        auto templates = common_chat_templates_init(model.raw(), *tmpl);
        common_chat_templates_inputs inputs;
        inputs.use_jinja = true;
        inputs.add_generation_prompt = true;
        inputs.enable_thinking = false;
        for (const auto & m : messages) {
            common_chat_msg msg;
            msg.role = m.role;
            msg.content = m.content;
            inputs.messages.push_back(std::move(msg));
        }
        return common_chat_templates_apply(templates.get(), inputs).prompt;
    } catch (const std::exception & e) {
        throw Error(model.facts().path + ": chat template failed: " + e.what());
    }
#else
    (void)messages;
    throw Error("chat templates need llama.cpp's common library; this build uses an installed llama.cpp");
#endif
}

}  // namespace compeval
