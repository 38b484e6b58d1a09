// Training the lab's models: loss falls below the unigram baseline, the
// exported GGUF gives llama.cpp the trainer's own per-token log-probabilities
// (within 1e-4, F32 weights and KV cache), and the same seed gives the same bytes.
#include "backends/model.hpp"
#include "scoring/requests.hpp"
#include "lab/toy_language.hpp"
#include "lab/trainer.hpp"
#include "lab/word_vocab.hpp"
#include "lab/zoo.hpp"
#include "runs/suite_runner.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

namespace compeval {
namespace {

struct Trained {
    ToyLanguage language;
    std::string vocab_path;
    std::string model_path;
    TrainResult result;
    std::vector<std::vector<double>> trainer_logprobs;  // for the first test sentences
    std::vector<std::vector<int>> test_ids;
};

Trained train_small(const std::string & dir, uint64_t seed) {
    ToyLanguageConfig c;
    c.train_sentences = 3000;
    c.validation_sentences = 300;
    c.eval_items_per_split = 40;
    Trained t{generate_toy_language(c), dir + "/vocab.gguf", dir + "/model.gguf", {}, {}, {}};
    const WordVocab vocab(t.language.words());
    vocab.write_gguf(t.vocab_path);
    std::vector<std::vector<int>> train;
    std::vector<std::vector<int>> validation;
    for (const auto & s : t.language.train) {
        train.push_back(vocab.encode(s));
    }
    for (const auto & s : t.language.validation) {
        validation.push_back(vocab.encode(s));
    }
    LabModel model({48, 2, 4, 128, 64}, static_cast<int>(vocab.size()), seed);
    TrainConfig config;
    config.epochs = 3;
    config.seed = seed;
    config.threads = 1;  // one thread: bit-for-bit repeatable sums
    t.result = model.train(train, validation, config);
    model.export_gguf(t.vocab_path, t.model_path, "lab-test", {{"compeval.lab.seed", std::to_string(seed)}});
    for (size_t i = 0; i < 12; ++i) {
        const auto & item = t.language.unseen_items[i];
        t.test_ids.push_back(vocab.encode(item.good));
        t.trainer_logprobs.push_back(model.token_logprobs(t.test_ids.back()));
    }
    return t;
}

TEST(LabTraining, LossFallsBelowUnigramAndLlamaCppReproducesTheTrainer) {
    if (!lab_training_available()) {
        GTEST_SKIP() << "this build has no libtorch (install libtorch-dev; scripts/test.sh does)";
    }
    const std::string dir = test::temp_dir("lab-train");
    const auto t = train_small(dir, 1);
    ASSERT_EQ(t.result.epochs.size(), 3U);
    EXPECT_LT(t.result.epochs.back().validation_loss, t.result.epochs.front().validation_loss);
    EXPECT_LT(t.result.epochs.back().validation_loss, 0.8 * t.result.unigram_loss)
        << "unigram " << t.result.unigram_loss;
    std::cout << "validation loss " << t.result.epochs.front().validation_loss << " -> "
              << t.result.epochs.back().validation_loss << " nats (unigram " << t.result.unigram_loss << "), "
              << t.result.tokens_per_second << " tokens/s\n";

    Model model(t.model_path);
    EXPECT_EQ(model.facts().n_params, t.result.n_params);
    double max_diff = 0;
    for (size_t s = 0; s < t.test_ids.size(); ++s) {
        std::vector<Token> tokens = {WordVocab::bos()};
        tokens.insert(tokens.end(), t.test_ids[s].begin(), t.test_ids[s].end());
        tokens.push_back(WordVocab::eos());
        for (size_t pos = 0; pos + 1 < tokens.size(); ++pos) {
            const auto logits = test::reference_logits(model, tokens, pos);
            double max_logit = -1e300;
            for (float l : logits) {
                max_logit = std::max(max_logit, static_cast<double>(l));
            }
            double sum = 0;
            for (float l : logits) {
                sum += std::exp(static_cast<double>(l) - max_logit);
            }
            const double llama =
                static_cast<double>(logits[static_cast<size_t>(tokens[pos + 1])]) - max_logit - std::log(sum);
            max_diff = std::max(max_diff, std::abs(llama - t.trainer_logprobs[s][pos]));
        }
    }
    std::cout << "max |llama.cpp - trainer| = " << max_diff << " nats per token\n";
    EXPECT_LT(max_diff, 1e-4);
}

TEST(LabTraining, SameSeedSameGgufBytes) {
    if (!lab_training_available()) {
        GTEST_SKIP() << "this build has no libtorch (install libtorch-dev; scripts/test.sh does)";
    }
    const auto a = train_small(test::temp_dir("lab-seed-a"), 3);
    const auto b = train_small(test::temp_dir("lab-seed-b"), 3);
    EXPECT_EQ(sha256_file(a.model_path), sha256_file(b.model_path));
    const auto c = train_small(test::temp_dir("lab-seed-c"), 4);
    EXPECT_NE(sha256_file(a.model_path), sha256_file(c.model_path));
}

TEST(LabZoo, BuildsResumesAndRunsAsASuite) {
    if (!lab_training_available()) {
        GTEST_SKIP() << "this build has no libtorch (install libtorch-dev; scripts/test.sh does)";
    }
    const std::string dir = test::temp_dir("lab-zoo");
    std::ofstream(dir + "/zoo.yaml") << "name: tiny\nlanguage: {seed: 2, heldout: 0.9, train_sentences: 600}\n"
                                        "sizes: [50k]\nseeds: [1, 2]\nepochs: 1\nthreads: 1\n"
                                        "instruct: {ratios: [0.5], epochs: 1}\n";
    auto config = load_zoo_config(dir + "/zoo.yaml");
    const auto first = build_zoo(config, dir + "/zoo", [](const std::string &) {});
    EXPECT_EQ(first.trained, 4U);  // 2 seeds x (base + one instruct variant)
    const auto bytes = test::read_file(dir + "/zoo/50k-s1-it0.5.gguf");
    const auto again = build_zoo(config, dir + "/zoo", [](const std::string &) {});
    EXPECT_EQ(again.trained, 0U);  // resumed: nothing to do
    EXPECT_EQ(again.reused, 4U);
    EXPECT_EQ(test::read_file(dir + "/zoo/50k-s1-it0.5.gguf"), bytes);
    std::filesystem::remove(dir + "/zoo/50k-s2-it0.5.gguf");  // an interrupted build: the variant is redone
    EXPECT_EQ(build_zoo(config, dir + "/zoo", [](const std::string &) {}).trained, 2U);

    // The instruct variant's chat template renders exactly what it was tuned on.
    Model tuned(dir + "/zoo/50k-s1-it0.5.gguf");
    ASSERT_TRUE(tuned.facts().has_chat_template);
    const auto language = generate_toy_language(config.language);
    const WordVocab vocab(language.words());
    const auto example = instruction_examples(language, 1, false, 9)[0];
    const auto question =
        example.substr(std::string("user ").size(), example.rfind(" assistant") - std::string("user ").size());
    const auto prompt = tuned.render_chat({{"user", question}});
    const auto answer = example.substr(example.rfind(' ') + 1);
    const auto tokens = tokenize_request(tuned, {prompt, answer, true}).tokens;
    std::vector<Token> expected = {WordVocab::bos()};
    for (int id : vocab.encode(example)) {
        expected.push_back(id);
    }
    EXPECT_EQ(tokens, expected) << prompt;

    config.train.epochs = 2;  // a changed schedule retrains everything
    EXPECT_EQ(build_zoo(config, dir + "/zoo", [](const std::string &) {}).trained, 4U);

    const SuiteSpec suite = load_suite_spec(dir + "/zoo/suite.yaml");
    ASSERT_EQ(suite.models.size(), 4U);
    ResultsStore store(dir + "/zoo/results.sqlite");
    const auto run = run_suite(suite, store, {});
    ASSERT_EQ(run.results.size(), 8U);  // 4 models x (minimal pairs, judgement)
    for (const auto & r : run.results) {
        EXPECT_EQ(r.result.form, r.model.variant == "instruct" && r.spec->name == "toy-judgement" ? "chat" : "plain")
            << r.model.name << " " << r.spec->name;
    }

    std::ofstream(dir + "/bad.yaml") << "name: bad\nsizes: [50k, 7b]\n";
    EXPECT_NE(test::error_of([&] { load_zoo_config(dir + "/bad.yaml"); }).find("unknown lab size '7b'"),
              std::string::npos);
}

}  // namespace
}  // namespace compeval
