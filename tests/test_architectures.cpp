// The models users bring: every architecture make-model writes, with its
// natural tokenizer (llama.cpp's vocab file of that family) and a real chat
// template of that family, loads through llama.cpp, scores every task kind
// with plain and chat prompts exactly as one-at-a-time scoring does, and
// gives hidden states for every layer, layer 0 being the token embeddings
// (times Gemma's sqrt(n_embd)).
#include "backends/chat_template.hpp"
#include "scoring/hidden_states.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/representation_task.hpp"
#include "tasks/task_runner.hpp"
#include "test_support.hpp"

#include <ggml.h>
#include <gguf.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>

namespace compeval {
namespace {

namespace fs = std::filesystem;

struct NaturalPair {
    const char * architecture;
    const char * vocab;
    const char * chat_template;  // a file of llama.cpp's models/templates, or "" for test::kChatTemplate
    int n_head_kv;               // 0: as many as query heads
    int head_dim;                // 0: n_embd / n_head
};

// Grouped-query and multi-query attention and head sizes of their own, as the
// real models of each family have.
const NaturalPair kPairs[] = {
    {"llama", "llama-bpe", "meta-llama-Llama-3.1-8B-Instruct.jinja", 2, 0},
    {"llama", "llama-spm", "", 0, 0},
    {"falcon", "falcon", "", 1, 0},
    {"qwen2", "qwen2", "Qwen-Qwen2.5-7B-Instruct.jinja", 2, 0},
    {"qwen3", "qwen35", "Qwen3.5-4B.jinja", 2, 32},
    {"phi3", "phi-3", "microsoft-Phi-3.5-mini-instruct.jinja", 0, 0},
    {"gemma2", "gemma-4", "google-gemma-2-2b-it.jinja", 1, 0},
    {"gemma3", "gemma-4", "google-gemma-4-31B-it.jinja", 2, 32},
};

std::string templates_dir() {
    return (fs::path(default_vocab_path()).parent_path() / "templates").string();
}

test::ArchModel arch_model(const NaturalPair & p, bool chat) {
    test::ArchModel m;
    m.architecture = p.architecture;
    m.vocab = p.vocab;
    m.n_head_kv = p.n_head_kv;
    m.head_dim = p.head_dim;
    if (chat) {
        m.chat_template = std::string(p.chat_template).empty()
                              ? std::string(test::kChatTemplate)
                              : test::read_file(templates_dir() + "/" + p.chat_template);
        m.label = "chat";
    }
    return m;
}

// One task per scoring mode over a few adjective-noun rows, every variant
// with a chat form.
std::vector<TaskSpec> toy_tasks(const std::string & dir) {
    std::ofstream(dir + "/rows.tsv") << "text\tlabel\tkind\tadjective\tnoun\ta\tb\tc\tgold\tgood\tbad\n"
                                     << "a red apple is a fruit\t1\tk1\tred\tapple\tfruit\tstone\tcar\t0\t"
                                        "The red apple is a fruit.\tThe red apple is a vehicle.\n"
                                     << "a fake gun is a gun\t0\tk1\tfake\tgun\tweapon\ttoy\tbird\t1\t"
                                        "A fake gun is not a gun.\tA fake gun not is a gun.\n"
                                     << "a small elephant is an animal\t1\tk2\tsmall\telephant\tanimal\tplant\tcup\t0\t"
                                        "She reads a book.\tShe read a books.\n"
                                     << "a former president is a president\t0\tk2\tformer\tpresident\tleader\t"
                                        "citizen\tstone\t1\tThe old house stood.\tThe old house stand.\n";
    const std::string data = "data: {format: tsv, splits: {test: \"{data_dir}/rows.tsv\"}}\n";
    const std::string prompts =
        "prompts:\n  - {name: q, plain: \"Question: is it true that {{text}}? Answer:\", "
        "chat: {user: \"Is it true that {{text}}? Answer yes or no.\", "
        "system: \"You judge phrases.\"}}\n";
    const std::vector<std::pair<std::string, std::string>> files = {
        {"labels",
         "scoring: {mode: label_words, label: label, label_words: {\"1\": \" yes\", \"0\": \" no\"}, "
         "calibration: \"Answer:\"}\n"},
        {"choices", "scoring: {mode: multiple_choice, choices: [a, b, c], gold: gold}\n"},
        {"ranking",
         "scoring: {mode: ranking_pairs, label: label, pair_by: kind, positive: \"1\", "
         "choice: \" {{text}}\"}\n"},
        {"pairs", "scoring: {mode: minimal_pair, good: good, bad: bad}\n"},
    };
    std::vector<TaskSpec> specs;
    for (const auto & [name, scoring] : files) {
        std::ofstream(dir + "/" + name + ".yaml") << "name: " << name << "\n" << data << scoring << prompts;
        specs.push_back(load_task_spec(dir + "/" + name + ".yaml", dir));
    }
    return specs;
}

// token_embd.weight rows of an F32 GGUF, read straight from the file.
std::vector<float> embedding_row(const std::string & path, Token token) {
    ggml_context * data = nullptr;
    gguf_init_params params{false, &data};
    std::unique_ptr<gguf_context, decltype(&gguf_free)> ctx(gguf_init_from_file(path.c_str(), params), &gguf_free);
    std::unique_ptr<ggml_context, decltype(&ggml_free)> guard(data, &ggml_free);
    const ggml_tensor * t = ggml_get_tensor(data, "token_embd.weight");
    EXPECT_EQ(t->type, GGML_TYPE_F32);
    const float * row = static_cast<const float *>(t->data) + static_cast<size_t>(token) * t->ne[0];
    return {row, row + t->ne[0]};
}

class Architectures : public ::testing::TestWithParam<NaturalPair> {};

TEST_P(Architectures, LoadWithTheirOwnTokenizer) {
    const auto & p = GetParam();
    Model model(test::arch_model_path(arch_model(p, false)));
    ModelOptions vocab_only;
    vocab_only.vocab_only = true;
    const Model vocab(test::vocab_path(p.vocab), vocab_only);
    EXPECT_EQ(model.facts().architecture, p.architecture);
    EXPECT_EQ(model.facts().n_layer, 2);
    EXPECT_EQ(model.facts().n_vocab, vocab.facts().n_vocab);
    const std::string text = "A fake gun is not a gun.";
    EXPECT_EQ(model.tokenize(text, true), vocab.tokenize(text, true));
}

TEST_P(Architectures, ScoreEveryTaskKindPlainAndChatAsOneAtATime) {
    const auto & p = GetParam();
    const std::string dir = test::temp_dir(std::string("arch-tasks-") + p.architecture + "-" + p.vocab);
    const auto specs = toy_tasks(dir);
    for (const bool chat : {false, true}) {
        Model model(test::arch_model_path(arch_model(p, chat)));
        ASSERT_EQ(model.facts().chat_template_error, "") << p.chat_template;
        LoglikelihoodEngine engine(model, {});
        for (const auto & spec : specs) {
            TaskRunOptions options;
            options.form = chat ? PromptForm::Chat : PromptForm::Plain;
            PreparedTask prepared = prepare_task(model, spec, options);
            const auto scores = engine.loglikelihood_tokens(prepared.tokenized);
            const auto reference = test::reference_loglikelihood(model, prepared.tokenized);
            ASSERT_EQ(scores.size(), reference.size());
            for (size_t i = 0; i < scores.size(); ++i) {
                ASSERT_TRUE(std::isfinite(scores[i].logprob)) << spec.name << " request " << i;
                EXPECT_GE(scores[i].n_tokens, 1);
                EXPECT_NEAR(scores[i].logprob, reference[i].logprob, 1e-3) << spec.name << " request " << i;
                EXPECT_EQ(scores[i].greedy, reference[i].greedy) << spec.name << " request " << i;
            }
            finish_task(spec, prepared, scores);
            EXPECT_EQ(prepared.result.form, chat ? "chat" : "plain");
            EXPECT_FALSE(prepared.result.metrics.empty()) << spec.name;
            for (const auto & r : prepared.result.results) {
                if (chat) {
                    // The answer is scored where the template writes a final answer.
                    const auto & prefix = model.facts().chat_answer_prefix;
                    EXPECT_EQ(r.context.substr(r.context.size() - std::min(prefix.size(), r.context.size())), prefix)
                        << spec.name;
                }
            }
        }
    }
}

// Gemma's sliding-window layers with a window shorter than the prompts: the
// engine's shared prefixes and batches still score as one request at a time
// does, and the window is really applied (a wide window scores differently).
TEST(SlidingWindow, GemmaWindowShorterThanThePromptsScoresAsOneAtATime) {
    test::ArchModel m;
    m.architecture = "gemma3";
    m.vocab = "gemma-4";
    m.n_head_kv = 2;
    m.sliding_window = 4;
    m.label = "window4";
    Model narrow(test::arch_model_path(m));
    m.sliding_window = 0;
    m.label = "";
    Model wide(test::arch_model_path(m));
    const std::string dir = test::temp_dir("arch-sliding-window");
    const TaskSpec spec = toy_tasks(dir).front();
    PreparedTask prepared = prepare_task(narrow, spec, {});
    size_t longer = 0;
    for (const auto & r : prepared.tokenized) {
        longer += r.n_context > 4 ? 1 : 0;
    }
    // The items' contexts; the calibration requests' "Answer:" is shorter.
    ASSERT_GE(2 * longer, prepared.tokenized.size()) << "half the contexts must be longer than the window";
    EngineOptions small_batches;
    small_batches.batch = 8;
    for (const EngineOptions & options : {EngineOptions{}, small_batches}) {
        LoglikelihoodEngine engine(narrow, options);
        const auto scores = engine.loglikelihood_tokens(prepared.tokenized);
        const auto reference = test::reference_loglikelihood(narrow, prepared.tokenized);
        ASSERT_EQ(scores.size(), reference.size());
        for (size_t i = 0; i < scores.size(); ++i) {
            EXPECT_NEAR(scores[i].logprob, reference[i].logprob, 1e-3) << "batch " << options.batch << " request " << i;
        }
    }
    const auto wide_scores = test::reference_loglikelihood(wide, prepared.tokenized);
    const auto narrow_scores = test::reference_loglikelihood(narrow, prepared.tokenized);
    double largest = 0;
    for (size_t i = 0; i < wide_scores.size(); ++i) {
        largest = std::max(largest, std::abs(wide_scores[i].logprob - narrow_scores[i].logprob));
    }
    EXPECT_GT(largest, 0.01) << "a window of 4 tokens must change the scores";
}

TEST_P(Architectures, HiddenStatesForEveryLayerStartFromTheScaledEmbeddings) {
    const auto & p = GetParam();
    const std::string path = test::arch_model_path(arch_model(p, false));
    Model model(path);
    HiddenStateExtractor extractor(model, {});
    const std::vector<HiddenStateRequest> requests = {{"This is a", " trench coat", false},
                                                      {"This is a", " turncoat", false}};
    const auto states = extractor.extract(requests);
    const std::string arch = p.architecture;
    const float scale = arch.rfind("gemma", 0) == 0 ? std::sqrt(static_cast<float>(model.facts().n_embd)) : 1.0F;
    for (size_t r = 0; r < requests.size(); ++r) {
        ASSERT_EQ(states[r].size(), static_cast<size_t>(model.facts().n_layer) + 1);
        const auto tokens = tokenize_request(model, {requests[r].context, requests[r].target, false}).tokens;
        const auto row = embedding_row(path, tokens.back());
        ASSERT_EQ(states[r][0].size(), row.size());
        for (size_t e = 0; e < row.size(); ++e) {
            EXPECT_NEAR(states[r][0][e], row[e] * scale, 1e-5 * scale) << "dimension " << e;
        }
        for (size_t layer = 1; layer < states[r].size(); ++layer) {
            double moved = 0.0;
            for (size_t e = 0; e < row.size(); ++e) {
                ASSERT_TRUE(std::isfinite(states[r][layer][e]));
                moved += std::abs(states[r][layer][e] - states[r][layer - 1][e]);
            }
            EXPECT_GT(moved, 1e-3) << "layer " << layer << " equals the one before";
        }
    }
    // The representational task runs on this graph too.
    const std::string dir = test::temp_dir(std::string("arch-fit-") + p.architecture + "-" + p.vocab);
    toy_tasks(dir);
    std::ofstream(dir + "/fit.yaml") << "name: fit\nkind: composition_fit\ncarrier: \"This is a {{phrase}}.\"\n"
                                        "data: {phrases: \"{data_dir}/rows.tsv\"}\n";
    const auto fit = run_representation_task(model, load_representation_spec(dir + "/fit.yaml", dir));
    EXPECT_EQ(fit.layers.size(), static_cast<size_t>(model.facts().n_layer) + 1);
}

INSTANTIATE_TEST_SUITE_P(NaturalVocabs, Architectures, ::testing::ValuesIn(kPairs), [](const auto & info) {
    std::string name = std::string(info.param.architecture) + "_" + info.param.vocab;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
});

}  // namespace
}  // namespace compeval
