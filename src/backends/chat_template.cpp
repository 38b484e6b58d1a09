#include "backends/chat_template.hpp"

#include "util/error.hpp"

#include <llama.h>

#ifdef COMPEVAL_HAVE_LLAMA_COMMON
#include <chat.h>
#include <log.h>
#endif

#include <mutex>

namespace compeval {
namespace {

// An answer and a thought no template writes by themselves, so the text
// around them is exactly the template's.
constexpr const char * kAnswerSentinel = "COMPEVALSENTINELANSWER";
constexpr const char * kThoughtSentinel = "COMPEVALSENTINELTHOUGHT";
constexpr const char * kProbeQuestion = "COMPEVALPROBEQUESTION";

// The fixed date (see the header): common's date_string / datetime, and a
// strftime_now that formats it (llama.cpp's Jinja engine reads the clock).
constexpr const char * kDateString = "26 Jul 2024";
constexpr const char * kDatetime = "Jul 26 2024";
constexpr const char * kFixedStrftime =
    "{%- macro strftime_now(format) -%}{{- format | replace('%Y', '2024') | replace('%y', '24') | "
    "replace('%m', '07') | replace('%-m', '7') | replace('%d', '26') | replace('%-d', '26') | replace('%e', '26') | "
    "replace('%B', 'July') | replace('%b', 'Jul') | replace('%A', 'Friday') | replace('%a', 'Fri') | "
    "replace('%H', '00') | replace('%M', '00') | replace('%S', '00') -}}{%- endmacro -%}";

std::string one_line(std::string text) {
    for (auto & c : text) {
        c = c == '\n' || c == '\r' ? ' ' : c;
    }
    return text.size() > 300 ? text.substr(0, 300) + "..." : text;
}

bool starts_with(const std::string & s, const std::string & prefix) {
    return s.rfind(prefix, 0) == 0;
}

size_t common_prefix(const std::string & a, const std::string & b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) {
        ++n;
    }
    return n;
}

// Where two renderings part, moved back to the start of a <...> control
// token it falls inside, so a shown prefix never begins mid-token.
size_t divergence(const std::string & a, const std::string & b) {
    const size_t d = common_prefix(a, b);
    const auto lt = b.rfind('<', d == 0 ? 0 : d - 1);
    if (lt != std::string::npos && lt < d && b.find('>', lt) >= d) {
        return lt;
    }
    return d;
}

// The text before the sentinel answer; throws when the template dropped it.
std::string before_answer(const std::string & rendered, const std::string & name) {
    const auto at = rendered.find(kAnswerSentinel);
    if (at == std::string::npos) {
        throw Error(name +
                    ": chat template renders no final assistant answer (a conversation ending in an assistant "
                    "message loses it), so there is no answer position to score");
    }
    return rendered.substr(0, at);
}

// `text` with the thought sentinel taken out, or "" when it holds none.
std::string without_thought(const std::string & text) {
    const auto at = text.find(kThoughtSentinel);
    if (at == std::string::npos) {
        return "";
    }
    return text.substr(0, at) + text.substr(at + std::string(kThoughtSentinel).size());
}

// Whether `text` closes the last thought it opens, by llama.cpp's reasoning
// tags for the template: an end tag after every start tag, and at least one.
bool closes_thought(const std::string & text, const std::string & start, const std::vector<std::string> & ends) {
    size_t last_end = std::string::npos;
    for (const auto & e : ends) {
        const auto at = e.empty() ? std::string::npos : text.rfind(e);
        if (at != std::string::npos && (last_end == std::string::npos || at > last_end)) {
            last_end = at;
        }
    }
    if (last_end == std::string::npos) {
        return false;
    }
    const auto last_start = start.empty() ? std::string::npos : text.rfind(start);
    return last_start == std::string::npos || last_start < last_end;
}

}  // namespace

const char * chat_answer_rule_name(ChatAnswerRule rule) {
    switch (rule) {
        case ChatAnswerRule::AfterOpening:
            return "after_opening";
        case ChatAnswerRule::AfterEmptyThought:
            return "after_empty_thought";
        case ChatAnswerRule::AfterClosedThought:
            return "after_closed_thought";
        case ChatAnswerRule::AnswerOnly:
            break;
    }
    return "answer_only";
}

#ifdef COMPEVAL_HAVE_LLAMA_COMMON

struct ChatTemplate::Impl {
    ChatTemplateSource source;
    common_chat_templates_ptr templates;
    ChatAnswerSlot slot;

    // The conversation, then with `answer` a final assistant message holding
    // it, and `thought` as that message's reasoning.
    static common_chat_templates_inputs inputs_for(const std::vector<ChatMessage> & messages,
                                                   bool add_generation_prompt, const char * answer = nullptr,
                                                   const char * thought = nullptr) {
        common_chat_templates_inputs inputs;
        inputs.use_jinja = true;
        inputs.add_generation_prompt = add_generation_prompt;
        inputs.enable_thinking = false;
        // Said explicitly, as transformers does: common passes it only when true,
        // and some templates take a missing one as true.
        inputs.chat_template_kwargs["add_generation_prompt"] = add_generation_prompt ? "true" : "false";
        inputs.chat_template_kwargs["date_string"] = std::string("\"") + kDateString + "\"";
        inputs.chat_template_kwargs["datetime"] = std::string("\"") + kDatetime + "\"";
        for (const auto & m : messages) {
            common_chat_msg msg;
            msg.role = m.role;
            msg.content = m.content;
            inputs.messages.push_back(std::move(msg));
        }
        if (answer != nullptr) {
            common_chat_msg msg;
            msg.role = "assistant";
            msg.content = answer;
            msg.reasoning_content = thought != nullptr ? thought : "";
            inputs.messages.push_back(std::move(msg));
        }
        return inputs;
    }

    // The template's own rendering, with common's message normalization but
    // without llama.cpp's per-format handlers (which build output parsers and
    // can refuse templates that render fine).
    std::string render(const std::vector<ChatMessage> & messages, bool add_generation_prompt,
                       const char * answer = nullptr, const char * thought = nullptr) const {
        try {
            auto inputs = inputs_for(messages, add_generation_prompt, answer, thought);
            inputs.force_pure_content = true;
            std::string prompt = common_chat_templates_apply(templates.get(), inputs).prompt;
            if (source.tokenizer_adds_bos && !source.bos.empty() && starts_with(prompt, source.bos)) {
                prompt.erase(0, source.bos.size());  // the tokenizer adds it
            }
            return prompt;
        } catch (const std::exception & e) {
            throw Error(source.name + ": chat template failed: " + one_line(e.what()));
        }
    }

    // llama.cpp's own analysis of the template's reasoning tags; none when it
    // cannot analyse the template (then no thought counts as closed).
    std::pair<std::string, std::vector<std::string>> reasoning_tags() const {
        try {
            const auto params =
                common_chat_templates_apply(templates.get(), inputs_for({{"user", kProbeQuestion}}, true));
            if (params.supports_thinking) {
                return {params.thinking_start_tag, params.thinking_end_tags};
            }
        } catch (const std::exception &) {
            // The format handlers refuse some templates that render fine: no tags.
        }
        return {};
    }

    std::string answer_context(const std::vector<ChatMessage> & messages, ChatAnswerRule rule) const {
        if (rule == ChatAnswerRule::AfterClosedThought) {
            return render(messages, true);
        }
        const char * thought = rule == ChatAnswerRule::AfterEmptyThought ? kThoughtSentinel : nullptr;
        std::string before = before_answer(render(messages, false, kAnswerSentinel, thought), source.name);
        if (rule != ChatAnswerRule::AfterEmptyThought) {
            return before;
        }
        std::string empty_thought = without_thought(before);
        if (empty_thought.empty()) {
            throw Error(source.name + ": chat template renders no thought before the answer in this conversation");
        }
        return empty_thought;
    }

    // Fixes the rule from a probe conversation (see ChatAnswerRule).
    void analyse() {
        const std::vector<ChatMessage> probe = {{"user", kProbeQuestion}};
        const std::string closed = render(probe, false);
        const std::string opened = render(probe, true);
        const std::string answer = answer_context(probe, ChatAnswerRule::AfterOpening);
        std::string chosen = answer;
        if (starts_with(answer, opened)) {
            slot.rule = ChatAnswerRule::AfterOpening;
        } else {
            const std::string empty_thought =
                without_thought(before_answer(render(probe, false, kAnswerSentinel, kThoughtSentinel), source.name));
            const auto [start, ends] = reasoning_tags();
            if (!empty_thought.empty() && starts_with(empty_thought, opened)) {
                slot.rule = ChatAnswerRule::AfterEmptyThought;
                chosen = empty_thought;
            } else if (starts_with(opened, answer) && closes_thought(opened.substr(answer.size()), start, ends)) {
                slot.rule = ChatAnswerRule::AfterClosedThought;
                chosen = opened;
            } else {
                slot.rule = ChatAnswerRule::AnswerOnly;
            }
        }
        slot.turn_opening = opened.substr(divergence(closed, opened));
        // The answer's prefix from where the turn opening starts in it, else
        // from where it leaves the conversation without an answer.
        const auto question_end = closed.find(kProbeQuestion);
        const auto prefix_of = [&](const std::string & rendered) {
            const auto at = slot.turn_opening.empty() || question_end == std::string::npos
                                ? std::string::npos
                                : rendered.find(slot.turn_opening, question_end);
            return rendered.substr(at != std::string::npos ? at : divergence(closed, rendered));
        };
        slot.answer_prefix = prefix_of(chosen);
        slot.written_prefix = prefix_of(answer);
        if (starts_with(slot.answer_prefix, slot.turn_opening)) {
            slot.between = slot.answer_prefix.substr(slot.turn_opening.size());
        }
    }
};

ChatTemplate::ChatTemplate(ChatTemplateSource source) : impl_(std::make_unique<Impl>()) {
    static std::once_flag quiet;
    // force_pure_content warns on every call; the warning says what we asked for.
    std::call_once(quiet, [] { common_log_set_verbosity_thold(LOG_LEVEL_ERROR); });
    impl_->source = std::move(source);
    std::string text = impl_->source.text;
    if (text.find("strftime_now") != std::string::npos) {
        text = kFixedStrftime + text;
    }
    try {
        // An explicit template (not "") keeps common from substituting its ChatML default.
        impl_->templates = common_chat_templates_init(nullptr, text, impl_->source.bos, impl_->source.eos);
    } catch (const std::exception & e) {
        throw Error(impl_->source.name + ": chat template cannot be parsed: " + one_line(e.what()));
    }
    impl_->analyse();
}

std::string ChatTemplate::render_prompt(const std::vector<ChatMessage> & messages) const {
    return impl_->answer_context(messages, impl_->slot.rule);
}

#else

struct ChatTemplate::Impl {
    ChatTemplateSource source;
    ChatAnswerSlot slot;
};

ChatTemplate::ChatTemplate(ChatTemplateSource /*source*/) {
    throw Error("chat templates need llama.cpp's common library; this build uses an installed llama.cpp");
}

std::string ChatTemplate::render_prompt(const std::vector<ChatMessage> & /*messages*/) const {
    throw Error("chat templates need llama.cpp's common library; this build uses an installed llama.cpp");
}

#endif

ChatTemplate::~ChatTemplate() = default;

const ChatAnswerSlot & ChatTemplate::answer_slot() const {
    return impl_->slot;
}

const ChatTemplateSource & ChatTemplate::source() const {
    return impl_->source;
}

namespace {

std::string token_text(const llama_vocab * vocab, llama_token token) {
    if (token == LLAMA_TOKEN_NULL) {
        return "";
    }
    std::vector<char> piece(64);
    int32_t n = llama_token_to_piece(vocab, token, piece.data(), static_cast<int32_t>(piece.size()), 0, true);
    if (n < 0) {
        piece.resize(static_cast<size_t>(-n));
        n = llama_token_to_piece(vocab, token, piece.data(), static_cast<int32_t>(piece.size()), 0, true);
    }
    return n > 0 ? std::string(piece.data(), static_cast<size_t>(n)) : "";
}

}  // namespace

bool chat_templates_available() {
#ifdef COMPEVAL_HAVE_LLAMA_COMMON
    return true;
#else
    return false;
#endif
}

void record_answer_slot(const ChatAnswerSlot & slot, ModelFacts & facts) {
    facts.chat_turn_opening = slot.turn_opening;
    facts.chat_written_prefix = slot.written_prefix;
    facts.chat_answer_prefix = slot.answer_prefix;
    facts.chat_answer_rule = chat_answer_rule_name(slot.rule);
}

ChatTemplateSource chat_template_source(const Model & model, const std::string & name, const std::string & text) {
    const llama_vocab * vocab = llama_model_get_vocab(model.raw());
    return {name, text, token_text(vocab, llama_vocab_bos(vocab)), token_text(vocab, llama_vocab_eos(vocab)),
            llama_vocab_get_add_bos(vocab)};
}

ChatTemplateSource chat_template_source(const Model & model) {
    const auto tmpl = model.chat_template();
    if (!tmpl) {
        throw Error(model.facts().path +
                    ": model has no chat template (tokenizer.chat_template); "
                    "score it as a base model or use a GGUF that carries one");
    }
    return chat_template_source(model, model.facts().path, *tmpl);
}

std::string render_chat_prompt(const Model & model, const std::vector<ChatMessage> & messages) {
    return ChatTemplate(chat_template_source(model)).render_prompt(messages);
}

}  // namespace compeval
