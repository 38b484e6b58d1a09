// Training the lab's models: loss falls below the unigram baseline, the
// exported GGUF gives llama.cpp the trainer's own per-token log-probabilities
// (within 1e-4, F32 weights and KV cache), and the same seed gives the same bytes.
#include "backends/model.hpp"
#include "scoring/requests.hpp"
#include "lab/toy_language.hpp"
#include "lab/trainer.hpp"
#include "lab/word_vocab.hpp"
#include "lab/zoo.hpp"
#include "analysis/run_report.hpp"
#include "runs/suite_runner.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

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

Trained train_small(const std::string & dir, uint64_t seed, TrainLoop loop = TrainLoop::fused, int epochs = 3) {
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
    config.epochs = epochs;
    config.seed = seed;
    config.threads = 1;  // one thread: bit-for-bit repeatable sums
    config.loop = loop;
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

// The fused loop's hand-written forward and backward (FlatDecoder) give
// autograd's loss and gradient on the same weights: sentences of different
// lengths (no padding in the fused loop, padding ignored in autograd's), two
// layers, four heads, before and after some training moved the weights away
// from their initial values.
TEST(LabTraining, FusedGradientEqualsAutograd) {
    if (!lab_training_available()) {
        GTEST_SKIP() << "this build has no libtorch (install libtorch-dev; scripts/test.sh does)";
    }
    const int vocab = 40;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> word(3, vocab - 1);
    std::vector<std::vector<int>> sentences;
    for (const int length : {1, 5, 11, 3, 8, 0, 14}) {
        std::vector<int> s;
        for (int i = 0; i < length; ++i) {
            s.push_back(word(rng));
        }
        sentences.push_back(s);
    }
    LabModel model({32, 2, 4, 48, 32}, vocab, 11);
    const auto check = [&](const char * when) {
        const auto a = model.compare_gradients(sentences);
        std::cout << when << ": |loss difference| " << a.loss_difference << ", max |gradient difference| "
                  << a.max_grad_difference << " (largest gradient " << a.max_grad << ")\n";
        EXPECT_LT(a.loss_difference, 1e-5) << when;
        EXPECT_GT(a.max_grad, 1e-3) << when;
        EXPECT_LT(a.max_grad_difference, 1e-5 + 1e-4 * a.max_grad) << when;
    };
    check("initial weights");
    TrainConfig config;
    config.epochs = 3;
    config.batch = 4;
    config.learning_rate = 1e-2;
    model.train(sentences, sentences, config);
    check("after 6 steps");
}

// The fused loop (one flat buffer, one AdamW pass with the clip folded in) is
// the reference loop's update (torch::optim::AdamW per tensor after
// clip_grad_norm_) up to float summation order: after 94 steps the two models
// give the same per-token log-probabilities to well within what a seed changes.
TEST(LabTraining, FusedLoopLearnsWhatTheReferenceLoopLearns) {
    if (!lab_training_available()) {
        GTEST_SKIP() << "this build has no libtorch (install libtorch-dev; scripts/test.sh does)";
    }
    const auto fused = train_small(test::temp_dir("lab-loop-fused"), 5, TrainLoop::fused, 2);
    const auto reference = train_small(test::temp_dir("lab-loop-reference"), 5, TrainLoop::reference, 2);
    const auto other_seed = train_small(test::temp_dir("lab-loop-seed"), 6, TrainLoop::fused, 2);
    ASSERT_EQ(fused.result.epochs.size(), 2U);
    ASSERT_EQ(reference.result.epochs.size(), 2U);
    const auto max_diff = [](const Trained & a, const Trained & b) {
        double worst = 0;
        for (size_t i = 0; i < a.trainer_logprobs.size(); ++i) {
            for (size_t j = 0; j < a.trainer_logprobs[i].size(); ++j) {
                worst = std::max(worst, std::abs(a.trainer_logprobs[i][j] - b.trainer_logprobs[i][j]));
            }
        }
        return worst;
    };
    const double loop_diff = max_diff(fused, reference);
    const double seed_diff = max_diff(fused, other_seed);
    std::cout << "max |fused - reference| = " << loop_diff << " nats per token; another seed: " << seed_diff << "\n";
    for (size_t e = 0; e < 2; ++e) {
        EXPECT_NEAR(fused.result.epochs[e].train_loss, reference.result.epochs[e].train_loss, 2e-3) << "epoch " << e;
        EXPECT_NEAR(fused.result.epochs[e].validation_loss, reference.result.epochs[e].validation_loss, 2e-3)
            << "epoch " << e;
    }
    EXPECT_LT(loop_diff, 1e-3);
    EXPECT_LT(loop_diff * 10, seed_diff);
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

    // Two models side by side give the bytes of one at a time, and zoo.json lists them in the same order.
    auto side_by_side = config;
    side_by_side.threads = 2;
    EXPECT_EQ(build_zoo(side_by_side, dir + "/zoo-2", [](const std::string &) {}).trained, 4U);
    for (const char * m : {"50k-s1", "50k-s1-it0.5", "50k-s2", "50k-s2-it0.5"}) {
        EXPECT_EQ(sha256_file(dir + "/zoo-2/" + m + ".gguf"), sha256_file(dir + "/zoo/" + m + ".gguf")) << m;
    }
    std::vector<std::string> order_1;
    std::vector<std::string> order_2;
    for (const auto & m : read_zoo(dir + "/zoo").models) {
        order_1.push_back(m.name);
    }
    for (const auto & m : read_zoo(dir + "/zoo-2").models) {
        order_2.push_back(m.name);
    }
    EXPECT_EQ(order_2, order_1);

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
    ASSERT_EQ(run.results.size(), 16U);  // 4 models x (minimal pairs, judgement read three ways)
    for (const auto & r : run.results) {
        EXPECT_EQ(r.result.form, r.model.variant == "instruct" && r.spec->name == "toy-judgement" ? "chat" : "plain")
            << r.model.name << " " << r.spec->name;
    }

    // Each model's recipe and seed reach the suite, `lab list` shows them,
    // and the report pools the seeds of a recipe.
    for (const auto & m : suite.models) {
        EXPECT_EQ(m.group, m.variant == "base" ? "50k" : "50k-it0.5") << m.name;
        EXPECT_EQ(m.seed, m.name.find("-s1") != std::string::npos ? 1 : 2) << m.name;
    }
    const Zoo zoo = read_zoo(dir + "/zoo");
    ASSERT_EQ(zoo.models.size(), 4U);
    EXPECT_EQ(zoo.language, describe(config.language));
    for (const auto & m : zoo.models) {
        EXPECT_TRUE(m.present) << m.path;
        EXPECT_GT(m.n_params, 60000) << m.name;
        EXPECT_GT(m.validation_loss, 0.0) << m.name;  // 600 sentences, 1 epoch: not yet below the unigram
        EXPECT_GT(m.unigram_loss, 0.0) << m.name;
        EXPECT_GT(m.train_seconds, 0.0) << m.name;
        EXPECT_EQ(m.it_ratio, m.variant == "instruct" ? 0.5 : 0.0) << m.name;
    }
    const auto listed = test::run_command(test::compeval_binary() + " lab list " + dir + "/zoo");
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_NE(listed.out.find("50k-s2-it0.5           50k-it0.5          instruct     2     0.5     F32"),
              std::string::npos)
        << listed.out;
    const auto missing = test::run_command(test::compeval_binary() + " lab list " + dir);
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find(dir + "/zoo.json: cannot open"), std::string::npos) << missing.err;

    export_suite_results(run, dir + "/run");
    const auto report = build_report(dir + "/run", {});
    const auto & recipes = report.data["recipes"];
    ASSERT_EQ(recipes.size(), 16U);  // 2 recipes x 4 task readings (questions by three routes) x (seen, unseen)
    for (const auto & r : recipes) {
        EXPECT_EQ(r["models"].size(), 2U);
        const double s1 = r["per_seed"][0].get<double>();
        const double s2 = r["per_seed"][1].get<double>();
        EXPECT_DOUBLE_EQ(r["accuracy"]["estimate"].get<double>(), (s1 + s2) / 2);
        // The interval resamples the seeds: it reaches at least towards each seed's own accuracy.
        EXPECT_LE(r["accuracy"]["low"].get<double>(),
                  std::max(std::min(s1, s2), r["accuracy"]["estimate"].get<double>() - 1e-9));
        EXPECT_GE(r["accuracy"]["high"].get<double>(),
                  std::min(std::max(s1, s2), r["accuracy"]["estimate"].get<double>() + 1e-9));
    }
    size_t tuning = 0;
    for (const auto & f : report.data["findings"]) {
        EXPECT_EQ(f["comparison"], "instruction tuning");  // one size: no scale finding
        EXPECT_EQ(f["a"], "50k-it0.5");
        EXPECT_EQ(f["b"], "50k");
        EXPECT_EQ(f["seeds_a"], 2);
        ++tuning;
    }
    EXPECT_EQ(tuning, 8U);  // 4 task readings x (all items, unseen ones)
    for (const auto & row : report.data["ability_correlation"]) {
        EXPECT_EQ(row["n_models"], 2) << row;  // the two recipes, each its seeds' mean
    }
    EXPECT_FALSE(report.data["ability_correlation"].empty());

    std::ofstream(dir + "/bad.yaml") << "name: bad\nsizes: [50k, 7b]\n";
    EXPECT_NE(test::error_of([&] { load_zoo_config(dir + "/bad.yaml"); }).find("unknown lab size '7b'"),
              std::string::npos);
    std::ofstream(dir + "/typo.yaml") << "name: typo\nlanguage:\n  seed: 1\n  heldot: 0.5\n";
    std::ofstream(dir + "/typo-top.yaml") << "name: typo\nsize: [50k]\n";
    EXPECT_EQ(test::error_of([&] {
                  load_zoo_config(dir + "/typo-top.yaml");
              }).rfind(dir + "/typo-top.yaml:2: unknown key 'size' (did you mean 'sizes'?)", 0),
              0U);
    EXPECT_EQ(
        test::error_of([&] {
            load_zoo_config(dir + "/typo.yaml");
        }).rfind(dir + "/typo.yaml:4: unknown key 'heldot' in language (did you mean 'heldout'?); known keys: ", 0),
        0U)
        << test::error_of([&] { load_zoo_config(dir + "/typo.yaml"); });

    // Quantized variants: made beside each trained model (nothing retrained),
    // kept on a rebuild, listed, and in the suite with their source.
    std::ofstream(dir + "/zoo-q.yaml") << "name: tiny\nlanguage: {seed: 2, heldout: 0.9, train_sentences: 600}\n"
                                          "sizes: [50k]\nseeds: [1, 2]\nepochs: 2\nthreads: 1\n"
                                          "instruct: {ratios: [0.5], epochs: 1}\nquantize: [q8_0]\n";
    auto quantized_config = load_zoo_config(dir + "/zoo-q.yaml");
    EXPECT_EQ(quantized_config.quantize, std::vector<std::string>{"Q8_0"});
    const auto q = build_zoo(quantized_config, dir + "/zoo", [](const std::string &) {});
    EXPECT_EQ(q.trained, 0U);
    EXPECT_EQ(q.quantized, 4U);
    EXPECT_EQ(build_zoo(quantized_config, dir + "/zoo", [](const std::string &) {}).quantized, 0U);
    const Zoo with_quantized = read_zoo(dir + "/zoo");
    ASSERT_EQ(with_quantized.models.size(), 8U);
    EXPECT_EQ(with_quantized.models[1].name, "50k-s1-it0.5");
    EXPECT_EQ(with_quantized.models[2].name, "50k-s1-q8_0");
    EXPECT_EQ(with_quantized.models[3].name, "50k-s1-it0.5-q8_0");
    EXPECT_EQ(with_quantized.models[3].quantized_from, "50k-s1-it0.5");
    EXPECT_EQ(with_quantized.models[3].recipe, "50k-it0.5-q8_0");
    const SuiteSpec quantized_suite = load_suite_spec(dir + "/zoo/suite.yaml");
    ASSERT_EQ(quantized_suite.models.size(), 8U);
    EXPECT_EQ(quantized_suite.models[3].quant, "Q8_0");
    EXPECT_EQ(quantized_suite.models[3].variant, "instruct");
    EXPECT_EQ(Model(quantized_suite.models[3].path).facts().file_type, "Q8_0");
    const auto listed_q = test::run_command(test::compeval_binary() + " lab list " + dir + "/zoo");
    EXPECT_NE(listed_q.out.find("50k-s2-q8_0            50k-q8_0           base         2       -    Q8_0"),
              std::string::npos)
        << listed_q.out;
    std::ofstream(dir + "/bad-quant.yaml") << "name: q\nquantize: [Q8_0, Q3_X]\n";
    EXPECT_EQ(test::error_of([&] {
                  load_zoo_config(dir + "/bad-quant.yaml");
              }).rfind(dir + "/bad-quant.yaml:2: unknown weight type 'Q3_X' (known: ", 0),
              0U);
}

}  // namespace
}  // namespace compeval
