// Training the lab's models: loss falls below the unigram baseline, the
// exported GGUF gives llama.cpp the trainer's own per-token log-probabilities
// (within 1e-4, F32 weights and KV cache), the same seed gives the same bytes,
// and the hand-written gradient and optimizer give what finite differences
// and libtorch's autograd and AdamW give (tests/data/lab-reference.json).
#include "backends/model.hpp"
#include "scoring/requests.hpp"
#include "lab/toy_language.hpp"
#include "lab/trainer.hpp"
#include "lab/word_vocab.hpp"
#include "lab/zoo.hpp"
#include "analysis/run_report.hpp"
#include "lab_reference_cases.hpp"
#include "runs/suite_runner.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

namespace compeval {
namespace {

struct Trained {
    std::string vocab_path;
    std::string model_path;
    TrainResult result;
    std::vector<std::vector<double>> trainer_logprobs;  // of the probe sentences
    std::vector<std::vector<int>> probes;
};

Trained train_small(const std::string & dir, uint64_t seed, int epochs = 3) {
    const auto c = test::loop_case(seed, epochs);
    Trained t{dir + "/vocab.gguf", dir + "/model.gguf", {}, {}, c.probes};
    c.vocab.write_gguf(t.vocab_path);
    LabModel model(c.shape, static_cast<int>(c.vocab.size()), seed);
    t.result = model.train(c.train, c.validation, c.config);
    model.export_gguf(t.vocab_path, t.model_path, "lab-test", {{"compeval.lab.seed", std::to_string(seed)}});
    for (const auto & probe : c.probes) {
        t.trainer_logprobs.push_back(model.token_logprobs(probe));
    }
    return t;
}

nlohmann::json lab_reference() {
    std::ifstream in(test::source_dir() + "/tests/data/lab-reference.json");
    return nlohmann::json::parse(in);
}

TEST(LabTraining, LossFallsBelowUnigramAndLlamaCppReproducesTheTrainer) {
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
    for (size_t s = 0; s < t.probes.size(); ++s) {
        std::vector<Token> tokens = {WordVocab::bos()};
        tokens.insert(tokens.end(), t.probes[s].begin(), t.probes[s].end());
        tokens.push_back(WordVocab::eos());
        const auto logits = test::reference_logits(model, tokens);
        for (size_t pos = 0; pos + 1 < tokens.size(); ++pos) {
            const double llama = test::token_logprob(logits[pos].data(), model.facts().n_vocab, tokens[pos + 1]).first;
            max_diff = std::max(max_diff, std::abs(llama - t.trainer_logprobs[s][pos]));
        }
    }
    std::cout << "max |llama.cpp - trainer| = " << max_diff << " nats per token\n";
    EXPECT_LT(max_diff, 1e-4);
}

TEST(LabTraining, SameSeedSameGgufBytes) {
    const auto a = train_small(test::temp_dir("lab-seed-a"), 3);
    const auto b = train_small(test::temp_dir("lab-seed-b"), 3);
    EXPECT_EQ(sha256_file(a.model_path), sha256_file(b.model_path));
    const auto c = train_small(test::temp_dir("lab-seed-c"), 4);
    EXPECT_NE(sha256_file(a.model_path), sha256_file(c.model_path));
    // The initial weights are the seed's alone: the stored reference was computed from them.
    const auto g = test::gradient_case();
    const LabModel model(g.shape, g.vocab, g.seed);
    EXPECT_EQ(sha256_string(std::string(reinterpret_cast<const char *>(model.weights().data()),
                                        model.weights().size() * sizeof(float))),
              lab_reference()["gradient"]["initial_weights_sha256"].get<std::string>());
}

// The hand-written gradient against autograd's, stored: each tensor's norm
// and sum (every element counts) and every stride-th element, at the initial
// weights and at weights moved away from them; sentences of different lengths
// (no padding in FlatDecoder, padding ignored in autograd's).
TEST(LabTraining, GradientEqualsStoredAutograd) {
    const auto reference = lab_reference()["gradient"];
    const auto g = test::gradient_case();
    LabModel model(g.shape, g.vocab, g.seed);
    const auto check = [&](const nlohmann::json & expected, const char * when) {
        std::vector<float> gradient;
        const double loss = model.loss_and_gradient(g.sentences, gradient);
        EXPECT_NEAR(loss, expected["loss"].get<double>(), 1e-5) << when;
        const auto & stored = expected["gradient"];
        double max_grad = 0;
        for (const float v : gradient) {
            max_grad = std::max(max_grad, static_cast<double>(std::abs(v)));
        }
        EXPECT_GT(max_grad, 1e-3) << when;
        const double tolerance = 1e-5 + 1e-4 * max_grad;
        for (const auto & t : model.weight_tensors()) {
            const auto sums = test::tensor_sums(gradient, t);
            EXPECT_NEAR(sums.norm, stored["tensors"][t.name]["norm"].get<double>(), tolerance) << t.name;
            EXPECT_NEAR(sums.sum, stored["tensors"][t.name]["sum"].get<double>(), tolerance * std::sqrt(t.size()))
                << t.name;
        }
        const auto stride = stored["stride"].get<size_t>();
        ASSERT_EQ(stored["elements"].size(), (gradient.size() + stride - 1) / stride);
        double worst = 0;
        for (size_t i = 0; i < gradient.size(); i += stride) {
            worst = std::max(worst, std::abs(gradient[i] - stored["elements"][i / stride].get<double>()));
        }
        std::cout << when << ": max |gradient - autograd| " << worst << " (largest gradient " << max_grad << ")\n";
        EXPECT_LT(worst, tolerance) << when;
    };
    check(reference["initial"], "initial weights");
    test::perturb_weights(model.weights());
    check(reference["perturbed"], "moved weights");
}

// The same gradient against finite differences of the loss, tensor by
// tensor, along the tensor's own gradient and along a random direction.
TEST(LabTraining, GradientMatchesFiniteDifferences) {
    const auto g = test::gradient_case();
    LabModel model(g.shape, g.vocab, g.seed);
    test::perturb_weights(model.weights());
    std::vector<float> gradient;
    model.loss_and_gradient(g.sentences, gradient);
    const std::vector<float> weights = model.weights();
    std::vector<float> scratch;
    const auto loss_at = [&](const std::vector<float> & direction, double step) {
        for (size_t i = 0; i < weights.size(); ++i) {
            model.weights()[i] = weights[i] + static_cast<float>(step * direction[i]);
        }
        return model.loss_and_gradient(g.sentences, scratch);
    };
    std::mt19937_64 rng(3);
    std::normal_distribution<double> normal;
    for (const auto & t : model.weight_tensors()) {
        for (const bool along_gradient : {true, false}) {
            std::vector<float> direction(weights.size(), 0.0F);
            double norm = 0;
            for (int64_t i = 0; i < t.size(); ++i) {
                const auto k = static_cast<size_t>(t.offset + i);
                direction[k] = along_gradient ? gradient[k] : static_cast<float>(normal(rng));
                norm += static_cast<double>(direction[k]) * direction[k];
            }
            double analytic = 0;
            for (int64_t i = 0; i < t.size(); ++i) {
                const auto k = static_cast<size_t>(t.offset + i);
                direction[k] = static_cast<float>(direction[k] / std::sqrt(norm));
                analytic += static_cast<double>(direction[k]) * gradient[k];
            }
            // Central differences at two steps, extrapolated (Richardson): the
            // step's square drops out of the error, float noise stays small.
            const auto central = [&](double step) {
                return (loss_at(direction, step) - loss_at(direction, -step)) / (2 * step);
            };
            const double numeric = (4 * central(5e-3) - central(1e-2)) / 3;
            EXPECT_NEAR(numeric, analytic, 2e-4 + 2e-3 * std::abs(analytic))
                << t.name << (along_gradient ? " along its gradient" : " along a random direction");
        }
    }
}

// 94 steps of the hand-written loop (one flat buffer, one AdamW pass with the
// clip folded in) learn what libtorch's autograd with torch::optim::AdamW per
// tensor after clip_grad_norm_ learned from the same initial weights, up to
// float summation order: to well within what another seed changes.
TEST(LabTraining, TrainingFollowsTheStoredTorchRun) {
    const auto reference = lab_reference()["loop"];
    const auto seed = reference["seed"].get<uint64_t>();
    const auto trained = train_small(test::temp_dir("lab-loop"), seed, 2);
    const auto other_seed = train_small(test::temp_dir("lab-loop-seed"), seed + 1, 2);
    ASSERT_EQ(trained.result.epochs.size(), reference["epochs"].size());
    for (size_t e = 0; e < trained.result.epochs.size(); ++e) {
        EXPECT_NEAR(trained.result.epochs[e].train_loss, reference["epochs"][e]["train_loss"].get<double>(), 2e-3)
            << "epoch " << e;
        EXPECT_NEAR(trained.result.epochs[e].validation_loss, reference["epochs"][e]["validation_loss"].get<double>(),
                    2e-3)
            << "epoch " << e;
    }
    ASSERT_EQ(trained.trainer_logprobs.size(), reference["probe_logprobs"].size());
    double loop_diff = 0;
    double seed_diff = 0;
    for (size_t i = 0; i < trained.trainer_logprobs.size(); ++i) {
        ASSERT_EQ(trained.trainer_logprobs[i].size(), reference["probe_logprobs"][i].size());
        for (size_t j = 0; j < trained.trainer_logprobs[i].size(); ++j) {
            const double stored = reference["probe_logprobs"][i][j].get<double>();
            loop_diff = std::max(loop_diff, std::abs(trained.trainer_logprobs[i][j] - stored));
            seed_diff = std::max(seed_diff, std::abs(other_seed.trainer_logprobs[i][j] - stored));
        }
    }
    std::cout << "max |trainer - torch| = " << loop_diff << " nats per token; another seed: " << seed_diff << "\n";
    EXPECT_LT(loop_diff, 1e-3);
    EXPECT_LT(loop_diff * 10, seed_diff);
}

TEST(LabZoo, BuildsResumesAndRunsAsASuite) {
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
