#include "backends/chat_template.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

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
    EXPECT_EQ(prompt, "[INST] Is a red apple a fruit? [/INST]");  // BOS left to the tokenizer
    const auto request = tokenize_request(model, {prompt, " yes", true});
    EXPECT_EQ(request.tokens.front(), model.bos());
    EXPECT_EQ(std::count(request.tokens.begin(), request.tokens.end(), model.bos()), 1);
    LoglikelihoodEngine engine(model, {});
    const auto scored = engine.loglikelihood({{prompt, " yes", true}, {prompt, " no", true}});
    EXPECT_LT(scored[0].logprob, 0.0);
    EXPECT_NE(scored[0].logprob, scored[1].logprob);
}

}  // namespace
}  // namespace compeval
