#include "scoring/hidden_states.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <ggml.h>
#include <gguf.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

namespace compeval {
namespace {

// Reads an F32 tensor straight from the GGUF file, independent of llama.cpp's loader.
std::vector<float> read_f32_tensor(const std::string & path, const char * name) {
    gguf_init_params params{true, nullptr};
    gguf_context * ctx = gguf_init_from_file(path.c_str(), params);
    const int64_t id = gguf_find_tensor(ctx, name);
    EXPECT_GE(id, 0);
    EXPECT_EQ(gguf_get_tensor_type(ctx, id), GGML_TYPE_F32);
    std::vector<float> data(gguf_get_tensor_size(ctx, id) / sizeof(float));
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(gguf_get_data_offset(ctx) + gguf_get_tensor_offset(ctx, id)));
    in.read(reinterpret_cast<char *>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
    gguf_free(ctx);
    return data;
}

TEST(HiddenStates, EmbeddingLayerIsTheTokenEmbedding) {
    const std::string path = test::model_path("tiny-f32");
    Model model(path);
    HiddenStateExtractor extractor(model, {{0}, Pooling::Last});
    const auto states = extractor.extract({{"A trench", " coat", false}});
    const auto tokens = tokenize_request(model, {"A trench", " coat", false}).tokens;
    const auto embd = read_f32_tensor(path, "token_embd.weight");
    const auto n_embd = static_cast<size_t>(model.facts().n_embd);
    ASSERT_EQ(states[0][0].size(), n_embd);
    for (size_t e = 0; e < n_embd; ++e) {
        EXPECT_FLOAT_EQ(states[0][0][e], embd[static_cast<size_t>(tokens.back()) * n_embd + e]);
    }
}

TEST(HiddenStates, LastLayerReproducesTheModelsLogits) {
    const std::string path = test::model_path("tiny-f32");
    Model model(path);
    const int n_layer = model.facts().n_layer;
    HiddenStateExtractor extractor(model, {{n_layer}, Pooling::Last});
    const auto states = extractor.extract({{"The red apple", " is a fruit", false}});
    const auto tokens = tokenize_request(model, {"The red apple", " is a fruit", false}).tokens;
    const auto logits = test::reference_logits(model, tokens, tokens.size() - 1);
    // logits = output . (rmsnorm(h) * output_norm)
    const auto out_w = read_f32_tensor(path, "output.weight");
    const auto norm_w = read_f32_tensor(path, "output_norm.weight");
    const auto & h = states[0][0];
    const size_t n_embd = h.size();
    double ss = 0.0;
    for (float x : h) {
        ss += static_cast<double>(x) * x;
    }
    const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n_embd) + 1e-5);
    double max_diff = 0.0;
    for (size_t v = 0; v < logits.size(); ++v) {
        double dot = 0.0;
        for (size_t e = 0; e < n_embd; ++e) {
            dot += static_cast<double>(out_w[v * n_embd + e]) * h[e] * scale * norm_w[e];
        }
        max_diff = std::max(max_diff, std::abs(dot - logits[v]));
    }
    EXPECT_LT(max_diff, 1e-3);
}

TEST(HiddenStates, BatchingDoesNotChangeTheVectors) {
    Model model(test::model_path("tiny-f32"));
    HiddenStateExtractor extractor(model, {{}, Pooling::Mean});
    std::vector<HiddenStateRequest> requests = {
        {"A trench", " coat", false}, {"A turn", "coat", false}, {"The snail", " mail", false}};
    const auto together = extractor.extract(requests);
    ASSERT_EQ(together[0].size(), static_cast<size_t>(model.facts().n_layer + 1));
    for (size_t r = 0; r < requests.size(); ++r) {
        const auto alone = extractor.extract({requests[r]});
        for (size_t l = 0; l < alone[0].size(); ++l) {
            for (size_t e = 0; e < alone[0][l].size(); ++e) {
                EXPECT_NEAR(alone[0][l][e], together[r][l][e], 1e-4) << "request " << r << " layer " << l;
            }
        }
    }
    // Different phrases give different last-layer states.
    EXPECT_NE(together[0].back(), together[1].back());
}

// Requests that share a carrier sentence, end inside one another or repeat
// exactly are decoded as one prefix tree; each must still get the vectors it
// gets alone. A batch of 8 splits the tree over many decode calls, and a
// subset of layers exercises the pruned last block.
TEST(HiddenStates, SharedPrefixesAndRepeatsMatchExtractingAlone) {
    Model model(test::model_path("tiny-f32"));
    const int n_layer = model.facts().n_layer;
    const std::vector<HiddenStateRequest> requests = {
        {"This is a", " trench coat.", false}, {"This is a", " trench", false}, {"This is a trench", " coat.", false},
        {"This is a", " trench coat.", false}, {"This is", " a snail.", false}, {"That was a", " trench coat.", false}};
    for (const Pooling pooling : {Pooling::Last, Pooling::Mean}) {
        HiddenStateExtractor extractor(model, {{0, 1, n_layer}, pooling, 2, 8});
        const auto together = extractor.extract(requests);
        ASSERT_EQ(together.size(), requests.size());
        for (size_t r = 0; r < requests.size(); ++r) {
            const auto alone = extractor.extract({requests[r]});
            ASSERT_EQ(together[r].size(), 3U);
            for (size_t l = 0; l < 3; ++l) {
                ASSERT_EQ(together[r][l].size(), alone[0][l].size());
                for (size_t e = 0; e < alone[0][l].size(); ++e) {
                    ASSERT_NEAR(alone[0][l][e], together[r][l][e], 1e-4)
                        << "request " << r << " layer " << l << (pooling == Pooling::Mean ? " mean" : " last");
                }
            }
        }
        EXPECT_EQ(together[0], together[3]);  // the repeat reads the same slots
        // Pooling over different spans must differ somewhere: a shorter target ends earlier.
        EXPECT_NE(together[0].back(), together[1].back());
    }
}

TEST(HiddenStates, RejectsLayersOutsideTheModel) {
    Model model(test::model_path("tiny-f32"));
    EXPECT_THROW(HiddenStateExtractor(model, {{model.facts().n_layer + 1}, Pooling::Last}), Error);
}

}  // namespace
}  // namespace compeval
