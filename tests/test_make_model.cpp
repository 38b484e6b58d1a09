#include "backends/model.hpp"
#include "model/random_model.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

namespace compeval {
namespace {

TEST(MakeModel, SameSeedSameBytesOtherSeedOtherBytes) {
    const std::string dir = test::temp_dir("make-model");
    RandomModelSpec spec = random_model_preset("tiny");
    write_random_model(spec, dir + "/a.gguf");
    write_random_model(spec, dir + "/b.gguf");
    spec.seed = 2;
    write_random_model(spec, dir + "/c.gguf");
    EXPECT_EQ(sha256_file(dir + "/a.gguf"), sha256_file(dir + "/b.gguf"));
    EXPECT_NE(sha256_file(dir + "/a.gguf"), sha256_file(dir + "/c.gguf"));
}

TEST(MakeModel, LoadsThroughLlamaCppWithTheRequestedShape) {
    const std::string dir = test::temp_dir("make-model-shape");
    RandomModelSpec spec = random_model_preset("small");
    spec.n_layer = 3;
    spec.weights = WeightType::F32;
    const uint64_t n_params = write_random_model(spec, dir + "/m.gguf");
    Model model(dir + "/m.gguf");
    const auto & f = model.facts();
    EXPECT_EQ(f.architecture, "llama");
    EXPECT_EQ(f.n_layer, 3);
    EXPECT_EQ(f.n_embd, spec.n_embd);
    EXPECT_EQ(f.n_vocab, 32000);
    EXPECT_EQ(f.n_params, n_params);
    EXPECT_EQ(f.sha256.size(), 64U);
    EXPECT_FALSE(f.has_chat_template);
    // F32 weights: ~4 bytes per parameter.
    EXPECT_NEAR(static_cast<double>(f.file_bytes) / static_cast<double>(n_params), 4.0, 0.2);
    // A real tokenizer: ordinary English becomes few, whole-word tokens.
    EXPECT_LE(model.tokenize("the house", false).size(), 2U);
}

// make-model as a user runs it: each architecture and weight type, the facts
// llama.cpp reports for the file, and a refusal for a shape an architecture
// cannot have.
TEST(MakeModel, EveryArchitectureAndWeightTypeFromTheCommandLine) {
    const std::string dir = test::temp_dir("make-model-cli");
    const std::string vocab = test::vocab_path("qwen2");
    for (const auto & [arch, weights, type] : std::vector<std::tuple<std::string, std::string, std::string>>{
             {"qwen3", "bf16", "BF16"}, {"falcon", "f16", "F16"}, {"gemma2", "f32", "F32"}}) {
        const std::string out = dir + "/" + arch + ".gguf";
        const auto made = test::run_command(test::compeval_binary() + " make-model --arch " + arch + " --weights " +
                                            weights + " --vocab " + vocab + " --n-head-kv 2 -o " + out);
        ASSERT_EQ(made.exit_code, 0) << made.err;
        EXPECT_NE(made.out.find(arch + ", "), std::string::npos) << made.out;
        const auto info = test::run_command(test::compeval_binary() + " info -m " + out);
        ASSERT_EQ(info.exit_code, 0) << info.err;
        const auto facts = nlohmann::json::parse(info.out);
        EXPECT_EQ(facts["architecture"], arch);
        EXPECT_EQ(facts["n_vocab"], Model(vocab, {999, true}).facts().n_vocab);
        EXPECT_NE(facts["description"].get<std::string>().find(type), std::string::npos) << facts.dump();
    }
    const auto bad =
        test::run_command(test::compeval_binary() + " make-model --arch falcon --head-dim 8 -o " + dir + "/bad.gguf");
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("falcon needs head_dim x n_head = n_embd"), std::string::npos) << bad.err;
    const auto unknown = test::run_command(test::compeval_binary() + " make-model --arch mamba -o " + dir + "/u.gguf");
    EXPECT_NE(unknown.exit_code, 0);
    EXPECT_NE(unknown.err.find("mamba"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace compeval
