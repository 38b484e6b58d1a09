// A token boundary never fails an item: every built-in task's items, through
// every tokenizer llama.cpp ships (models/ggml-vocab-*.gguf), tokenize into a
// context and a non-empty continuation, by the joint rule where it is clean
// and the separate rule where a token merges across the boundary. The count
// of items that needed the separate rule per vocab is printed.
//
// All items of all tasks through all 19 tokenizers take about 8 minutes on two
// cores with plain prompts alone (llama.cpp's tokenizers spend it), so the
// suite takes the first 20 items of each split with plain prompts and the
// first 5 with one of five real chat templates per vocab, in turn (each
// template meets four vocabs); under AddressSanitizer, whose allocator slows
// llama.cpp's tokenizers tenfold, 5 and 2.
// COMPEVAL_BOUNDARY_FULL=1 takes every item with plain prompts and the first
// 100 of each split with every template for every vocab (docs/models.md's counts
// come from that run).
#include "backends/chat_template.hpp"
#include "tasks/representation_task.hpp"
#include "tasks/task_runner.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <map>

namespace compeval {
namespace {

namespace fs = std::filesystem;

struct BuiltinTask {
    std::string name;
    std::optional<TaskSpec> scoring;
    std::optional<RepresentationSpec> representation;
};

// Every file in tasks/, the AddOne-RTE ones on the test fixture (not shipped).
std::vector<BuiltinTask> builtin_tasks(const std::string & addone_dir) {
    std::vector<std::string> files;
    for (const auto & entry : fs::directory_iterator(test::source_dir() + "/tasks")) {
        if (entry.path().extension() == ".yaml") {
            files.push_back(entry.path().string());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<BuiltinTask> tasks;
    for (const auto & f : files) {
        const std::string name = fs::path(f).stem().string();
        const std::string data = name.rfind("addone", 0) == 0 ? addone_dir : test::shared_data_dir();
        BuiltinTask t{name, {}, {}};
        if (is_representation_task(f)) {
            t.representation = load_representation_spec(f, data);
        } else {
            t.scoring = load_task_spec(f, data);
        }
        tasks.push_back(std::move(t));
    }
    return tasks;
}

// A vocab's tokenizer with one of llama.cpp's real chat templates, so that
// chat prompts can be swept through every tokenizer (the vocab files carry no
// templates of their own).
class TemplatedVocab final : public LanguageModel {
  public:
    TemplatedVocab(const Model & vocab, const std::string & template_file)
        : vocab_(vocab),
          template_(
              chat_template_source(vocab, template_file, test::read_file(templates_dir() + "/" + template_file))) {
        facts_ = vocab.facts();
        facts_.has_chat_template = true;
    }
    static std::string templates_dir() { return (fs::path(default_vocab_path()).parent_path() / "templates").string(); }
    const ModelFacts & facts() const override { return facts_; }
    std::vector<Token> tokenize(const std::string & text, bool add_bos, bool parse_special) const override {
        return vocab_.tokenize(text, add_bos, parse_special);
    }
    std::string detokenize(const std::vector<Token> & tokens) const override { return vocab_.detokenize(tokens); }
    Token bos() const override { return vocab_.bos(); }
    Token eos() const override { return vocab_.eos(); }
    std::string render_chat(const std::vector<ChatMessage> & messages) const override {
        return template_.render_prompt(messages);
    }

  private:
    const Model & vocab_;
    ChatTemplate template_;
    ModelFacts facts_;
};

struct SweepCount {
    size_t items = 0;
    size_t separate = 0;
    std::map<std::string, size_t> per_task;  // items that needed the separate rule

    std::string text() const {
        std::string out = std::to_string(separate) + " of " + std::to_string(items);
        for (const auto & [task, n] : per_task) {
            if (n > 0) {
                out += " " + task + "=" + std::to_string(n);
            }
        }
        return out;
    }
};

// Every item x prompt variant (up to `limit` items per split) tokenized into
// requests; an item needed the separate rule when one of its choices did.
SweepCount sweep(const LanguageModel & model, const std::vector<BuiltinTask> & tasks, PromptForm form, size_t limit,
                 const std::string & label) {
    SweepCount count;
    for (const auto & task : tasks) {
        if (task.scoring) {
            PreparedTask prepared;
            EXPECT_NO_THROW(prepared = prepare_task(model, *task.scoring, {form, limit})) << label << " " << task.name;
            size_t next = 0;
            for (const auto & r : prepared.result.results) {
                const size_t n = prepared.result.items[r.item].choices.size();
                bool separate = false;
                for (size_t c = 0; c < 2 * n; ++c) {  // each choice, then its calibration request
                    const auto & t = prepared.tokenized[next + c];
                    EXPECT_GT(t.tokens.size(), t.n_context) << label << " " << task.name;
                    separate = separate || (c < n && t.boundary == TokenBoundary::Separate);
                }
                next += 2 * n;
                ++count.items;
                count.separate += separate ? 1 : 0;
                count.per_task[task.name] += separate ? 1 : 0;
            }
        } else if (form == PromptForm::Plain) {  // hidden states read plain carriers only
            auto requests = representation_requests(*task.representation);
            if (limit > 0 && requests.size() > 3 * limit) {
                requests.resize(3 * limit);
            }
            for (const auto & r : requests) {
                TokenizedRequest t;
                EXPECT_NO_THROW(t = tokenize_request(model, {r.context, r.target, r.parse_special}))
                    << label << " " << task.name << ": " << r.target;
                EXPECT_GT(t.tokens.size(), t.n_context);
                const bool separate = t.boundary == TokenBoundary::Separate;
                ++count.items;
                count.separate += separate ? 1 : 0;
                count.per_task[task.name] += separate ? 1 : 0;
            }
        }
    }
    return count;
}

// Chat formats of several shapes: a header turn, ChatML with a closed empty
// thought, harmony's final channel, Gemma 4's closed thought channel, and
// Reka's "assistant: ".
const char * const kChatTemplates[] = {"meta-llama-Llama-3.1-8B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja",
                                       "openai-gpt-oss-120b.jinja", "google-gemma-4-31B-it.jinja", "Reka-Edge.jinja"};

// g++ defines __SANITIZE_ADDRESS__ under ASan; clang 14 (the sanitizer
// build's compiler) only answers __has_feature.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

TEST(TokenBoundaries, NoItemOfAnyBuiltinTaskFailsWithAnyTokenizer) {
    if (!fs::exists(test::shared_data_dir())) {
        GTEST_SKIP() << "shared data not found at " << test::shared_data_dir();
    }
    const std::string addone = test::temp_dir("boundary-addone");
    test::write_addone_fixture(addone);
    const auto tasks = builtin_tasks(addone);
    ASSERT_GE(tasks.size(), 8U);

    std::vector<std::string> vocabs;
    for (const auto & entry : fs::directory_iterator(fs::path(default_vocab_path()).parent_path())) {
        if (entry.path().extension() == ".gguf" && entry.path().filename().string().rfind("ggml-vocab-", 0) == 0) {
            vocabs.push_back(entry.path().string());
        }
    }
    std::sort(vocabs.begin(), vocabs.end());
    ASSERT_GE(vocabs.size(), 19U) << "the pinned llama.cpp ships 19 vocab files";

    const bool full = std::getenv("COMPEVAL_BOUNDARY_FULL") != nullptr;
    ModelOptions vocab_only;
    vocab_only.vocab_only = true;
    for (size_t v = 0; v < vocabs.size(); ++v) {
        const std::string & path = vocabs[v];
        const Model vocab(path, vocab_only);
        const std::string name = fs::path(path).filename().string();
        std::string line = name + ": plain " +
                           sweep(vocab, tasks, PromptForm::Plain,
                                 full         ? 0
                                 : kSanitized ? 5
                                              : 20,
                                 name)
                               .text();
        for (size_t t = 0; t < std::size(kChatTemplates); ++t) {
            if (!full && t != v % std::size(kChatTemplates)) {
                continue;
            }
            const char * tmpl = kChatTemplates[t];
            const TemplatedVocab chat(vocab, tmpl);
            line += "; " + std::string(tmpl) + " " +
                    sweep(chat, tasks, PromptForm::Chat,
                          full         ? 100
                          : kSanitized ? 2
                                       : 5,
                          name + " " + tmpl)
                        .text();
        }
        std::printf("[ measured ] items that needed the separate rule, %s\n", line.c_str());
    }
}

}  // namespace
}  // namespace compeval
