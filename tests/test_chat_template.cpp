#include "backends/chat_template.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <filesystem>

namespace compeval {
namespace {

// Not one of the formats llama_chat_apply_template pattern-matches, and it
// uses a Jinja filter: only a real Jinja engine renders it.
const char * kCustomTemplate =
    "{% for m in messages %}<<{{ m.role | upper }}>>{{ m.content | trim }}\n{% endfor %}"
    "{% if add_generation_prompt %}<<ASSISTANT>>{% endif %}";

// Llama-2 style, with the BOS token written by the template itself.
const char * kLlama2Template =
    "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content }} [/INST]"
    "{% else %} {{ m.content }}{{ eos_token }}{% endif %}{% endfor %}";

TEST(ChatTemplate, RendersTheModelsOwnJinjaTemplate) {
    if (!chat_templates_available()) {
        GTEST_SKIP() << "built against an installed llama.cpp without its common library";
    }
    Model model(test::model_path("chat-tiny", kCustomTemplate));
    EXPECT_TRUE(model.facts().has_chat_template);
    const auto prompt =
        render_chat_prompt(model, {{"system", "Answer yes or no."}, {"user", " Is a fake gun a gun? "}});
    EXPECT_EQ(prompt, "<<SYSTEM>>Answer yes or no.\n<<USER>>Is a fake gun a gun?\n<<ASSISTANT>>");
}

TEST(ChatTemplate, ModelWithoutTemplateIsAnErrorNotAFallback) {
    Model model(test::model_path("tiny-f16"));
    EXPECT_FALSE(model.facts().has_chat_template);
    try {
        render_chat_prompt(model, {{"user", "hi"}});
        FAIL() << "expected an error";
    } catch (const Error & e) {
        EXPECT_NE(std::string(e.what()).find("no chat template"), std::string::npos) << e.what();
    }
}

TEST(ChatTemplate, AnswerIsScoredInsideTheAssistantTurnWithOneBos) {
    if (!chat_templates_available()) {
        GTEST_SKIP() << "built against an installed llama.cpp without its common library";
    }
    Model model(test::model_path("chat-tiny-llama2", kLlama2Template));
    const auto prompt = render_chat_prompt(model, {{"user", "Is a red apple a fruit?"}});
    // BOS left to the tokenizer; the template writes " " + answer after [/INST]
    // (it has no generation prompt at all), so the prompt ends where answers start.
    EXPECT_EQ(prompt, "[INST] Is a red apple a fruit? [/INST] ");
    const auto request = tokenize_request(model, {prompt, " yes", true});
    EXPECT_EQ(request.tokens.front(), model.bos());
    EXPECT_EQ(std::count(request.tokens.begin(), request.tokens.end(), model.bos()), 1);
    LoglikelihoodEngine engine(model, {});
    const auto scored = engine.loglikelihood({{prompt, " yes", true}, {prompt, " no", true}});
    EXPECT_LT(scored[0].logprob, 0.0);
    EXPECT_NE(scored[0].logprob, scored[1].logprob);
}

std::string templates_dir() {
    return (std::filesystem::path(default_vocab_path()).parent_path() / "templates").string();
}

// A model with llama.cpp's Llama-3 tokenizer and one of llama.cpp's real templates.
std::string templated_model(const std::string & file) {
    test::ArchModel m;
    m.vocab = "llama-bpe";
    m.chat_template = test::read_file(templates_dir() + "/" + file);
    m.label = std::filesystem::path(file).stem().string();
    return test::arch_model_path(m);
}

std::string ends(const std::string & s, size_t n) {
    return s.substr(s.size() - std::min(n, s.size()));
}

TEST(ChatTemplate, TheAnswerGoesWhereTheTemplateWritesAFinalAnswer) {
    if (!chat_templates_available()) {
        GTEST_SKIP() << "built against an installed llama.cpp without its common library";
    }
    struct Expected {
        const char * file;
        const char * answer_prefix_end;
        ChatAnswerRule rule;
    };
    const std::vector<Expected> cases = {
        // harmony: the generation prompt stops at <|start|>assistant; a final answer is in the final channel
        {"openai-gpt-oss-120b.jinja", "<|start|>assistant<|channel|>final<|message|>", ChatAnswerRule::AfterOpening},
        // thinking switched off: an empty closed thought, then the answer
        {"Qwen-Qwen3-0.6B.jinja", "<|im_start|>assistant\n<think>\n\n</think>\n\n", ChatAnswerRule::AfterOpening},
        // the generation prompt closes an empty thought channel that answers in the conversation lack
        {"google-gemma-4-31B-it.jinja", "<|turn>model\n<|channel>thought\n<channel|>",
         ChatAnswerRule::AfterClosedThought},
        // the generation prompt opens a thought: the answer follows an empty one, closed as the template closes it
        {"MiniMax-M2.jinja", "]~b]ai\n<think>\n\n</think>\n\n", ChatAnswerRule::AfterEmptyThought},
        // answers follow "assistant: ", the generation prompt stops before the space
        {"Reka-Edge.jinja", "assistant: ", ChatAnswerRule::AfterOpening},
        // the generation prompt opens a thought the template never closes for an answer
        {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "<\uff5cAssistant\uff5c>", ChatAnswerRule::AnswerOnly},
    };
    for (const auto & c : cases) {
        Model model(templated_model(c.file));
        const auto & f = model.facts();
        ASSERT_EQ(f.chat_template_error, "") << c.file;
        std::string expected = c.answer_prefix_end;
        // \uff5c is the fullwidth bar DeepSeek's tokens use.
        for (size_t at; (at = expected.find("\\uff5c")) != std::string::npos;) {
            expected.replace(at, 6, "\xef\xbd\x9c");
        }
        for (size_t at; (at = expected.find("\\n")) != std::string::npos;) {
            expected.replace(at, 2, "\n");
        }
        EXPECT_EQ(ends(f.chat_answer_prefix, expected.size()), expected) << c.file;
        EXPECT_EQ(f.chat_answer_rule, chat_answer_rule_name(c.rule)) << c.file;
        const auto prompt = model.render_chat({{"user", "Is a red apple a fruit?"}});
        EXPECT_EQ(ends(prompt, expected.size()), expected) << c.file;
        // Both renderings are recorded: the generation prompt's opening too.
        EXPECT_FALSE(f.chat_turn_opening.empty()) << c.file;
    }
}

TEST(ChatTemplate, ATemplateThatCannotRenderIsAOneLineErrorNamingIt) {
    if (!chat_templates_available()) {
        GTEST_SKIP() << "built against an installed llama.cpp without its common library";
    }
    const std::vector<std::pair<const char *, const char *>> broken = {
        {"{% for m in messages %}{{ m.content }", "cannot be parsed"},
        {"{{ raise_exception('this template refuses every conversation') }}", "chat template failed"},
        {"{% for m in messages %}{% if m.role == 'user' %}<u>{{ m.content }}{% endif %}{% endfor %}"
         "{% if add_generation_prompt %}<a>{% endif %}",
         "renders no final assistant answer"},
    };
    for (const auto & [text, cause] : broken) {
        const std::string path =
            test::model_path("chat-tiny-broken-" + std::to_string(std::hash<std::string>{}(text)), text);
        Model model(path);  // a base model with a broken template still loads ...
        EXPECT_NE(model.facts().chat_template_error.find(cause), std::string::npos)
            << model.facts().chat_template_error;
        // ... and its chat prompts fail with the reason, naming the file, on one line.
        const auto e = test::error_of([&] { model.render_chat({{"user", "hi"}}); });
        EXPECT_NE(e.find(path), std::string::npos) << e;
        EXPECT_NE(e.find(cause), std::string::npos) << e;
        EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    }
}

TEST(ChatTemplate, TodaysDateIsFixedSoPromptsAreTheSameOnAnyDay) {
    if (!chat_templates_available()) {
        GTEST_SKIP() << "built against an installed llama.cpp without its common library";
    }
    for (const char * file : {"meta-llama-Llama-3.1-8B-Instruct.jinja", "openai-gpt-oss-120b.jinja"}) {
        Model model(templated_model(file));
        const auto prompt = model.render_chat({{"user", "hi"}});
        const bool dated =
            prompt.find("26 Jul 2024") != std::string::npos || prompt.find("2024-07-26") != std::string::npos;
        EXPECT_TRUE(dated) << file << ": " << prompt.substr(0, 300);
    }
    // strftime_now, formatted from the fixed date.
    Model model(
        test::model_path("chat-tiny-strftime",
                         "{{ strftime_now('%Y-%m-%d %B %b %d') }}{% for m in messages %}{{ m.content }}{% endfor %}"));
    EXPECT_EQ(model.render_chat({{"user", "hi"}}).substr(0, 28), "2024-07-26 July Jul 26hi");
}

// docs/chat-templates.md is what `compeval chat-templates` writes over the
// pinned llama.cpp's templates, and every one of them renders with an answer
// position.
TEST(ChatTemplateTable, TheCommittedTableIsTheCommandsOutputAndEveryTemplateRenders) {
    if (!chat_templates_available()) {
        GTEST_SKIP() << "built against an installed llama.cpp without its common library";
    }
    const std::string out = test::temp_dir("chat-template-table") + "/table.md";
    const auto run = test::run_command(test::compeval_binary() + " chat-templates -o " + out);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    size_t files = 0;
    for (const auto & entry : std::filesystem::directory_iterator(templates_dir())) {
        files += entry.path().extension() == ".jinja" ? 1 : 0;
    }
    ASSERT_GE(files, 70U);
    EXPECT_NE(run.out.find(std::to_string(files) + " of " + std::to_string(files) + " templates render"),
              std::string::npos)
        << run.out;
    const std::string table = test::read_file(out);
    EXPECT_EQ(table, test::read_file(test::source_dir() + "/docs/chat-templates.md"))
        << "docs/chat-templates.md is stale: regenerate it with `build/compeval chat-templates -o "
           "docs/chat-templates.md`";
    EXPECT_EQ(table.find("| **no** |"), std::string::npos);
}

}  // namespace
}  // namespace compeval
