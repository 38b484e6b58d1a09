#include "backends/model.hpp"
#include "model/random_model.hpp"
#include "test_support.hpp"
#include "util/sha256.hpp"

#include <gtest/gtest.h>

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
    spec.f16 = false;
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

}  // namespace
}  // namespace compeval
