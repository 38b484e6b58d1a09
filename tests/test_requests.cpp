#include "scoring/requests.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

namespace compeval {
namespace {

TEST(TokenizeRequest, SplitsAtTheContextBoundary) {
    Model model(test::model_path("tiny-f16"));
    const auto r = tokenize_request(model, {"The cat", " sat on the mat", false});
    EXPECT_EQ(r.tokens, model.tokenize("The cat sat on the mat", true));
    EXPECT_EQ(r.n_context, model.tokenize("The cat", true).size());
    EXPECT_GT(r.tokens.size(), r.n_context);
    EXPECT_EQ(r.tokens.front(), model.bos());
}

TEST(TokenizeRequest, TrailingContextWhitespaceMovesToTheContinuation) {
    Model model(test::model_path("tiny-f16"));
    const auto a = tokenize_request(model, {"The cat ", "sat", false});
    const auto b = tokenize_request(model, {"The cat", " sat", false});
    EXPECT_EQ(a.tokens, b.tokens);
    EXPECT_EQ(a.n_context, b.n_context);
}

TEST(TokenizeRequest, EmptyContinuationIsAnError) {
    Model model(test::model_path("tiny-f16"));
    for (const char * context : {"The cat", "The cat "}) {  // trailing whitespace is not an answer either
        try {
            tokenize_request(model, {context, "", false});
            FAIL() << "expected an error";
        } catch (const Error & e) {
            EXPECT_NE(std::string(e.what()).find("continuation is empty"), std::string::npos) << e.what();
        }
    }
}

// A model with llama.cpp's Llama-3 byte-level BPE tokenizer: its
// pre-tokenizer joins one punctuation mark with the letters after it, so
// "assistant:" + "no" is tokenized "assistant", ":no".
std::string bpe_model() {
    return test::model_path("tiny-f32-llama-bpe");
}

TEST(TokenizeRequest, CleanJointSplitIsKeptAndRecorded) {
    for (const auto & path : {test::model_path("tiny-f16"), bpe_model()}) {
        Model model(path);
        const auto r = tokenize_request(model, {"Answer:", " yes", false});
        EXPECT_EQ(r.boundary, TokenBoundary::Joint) << path;
        EXPECT_EQ(r.tokens, model.tokenize("Answer: yes", true));
        EXPECT_EQ(model.detokenize({r.tokens.begin() + static_cast<std::ptrdiff_t>(r.n_context), r.tokens.end()}),
                  " yes");
    }
}

TEST(TokenizeRequest, AMergeAcrossTheBoundaryScoresTheContinuationOnItsOwn) {
    Model model(bpe_model());
    const auto joint = model.tokenize("assistant:no", true);
    const auto context = model.tokenize("assistant:", true);
    // The premise: the last context token does not survive the joint tokenization.
    ASSERT_EQ(joint.size(), context.size());
    ASSERT_NE(joint.back(), context.back());

    const auto r = tokenize_request(model, {"assistant:", "no", false});
    EXPECT_EQ(r.boundary, TokenBoundary::Separate);
    EXPECT_EQ(r.n_context, context.size());
    std::vector<Token> expected = context;
    const auto alone = model.tokenize("no", false);
    expected.insert(expected.end(), alone.begin(), alone.end());
    EXPECT_EQ(r.tokens, expected);
    EXPECT_EQ(model.detokenize({r.tokens.begin() + static_cast<std::ptrdiff_t>(r.n_context), r.tokens.end()}), "no");
}

TEST(TokenizeRequest, EmptyContextConditionsOnBos) {
    Model model(test::model_path("tiny-f16"));
    const auto r = tokenize_request(model, {"", "Hello", false});
    EXPECT_EQ(r.n_context, 1U);
    EXPECT_EQ(r.tokens.front(), model.bos());
    EXPECT_EQ(r.tokens.size(), 1 + model.tokenize("Hello", false).size());
}

// The batched path must give exactly the tokens of one call per request, on
// both tokenizers, through repeated contexts, a merge across the boundary,
// an empty context and special-token parsing.
TEST(TokenizeRequests, SameTokensAsOneCallPerRequest) {
    for (const auto & path : {test::model_path("tiny-f16"), bpe_model()}) {
        Model model(path);
        const std::vector<LoglikelihoodRequest> requests = {{"assistant:", "no", false}, {"assistant:", " yes", false},
                                                            {"The cat ", "sat", false},  {"The cat", " sat", false},
                                                            {"", "Hello", false},        {"The cat ", "sat", true},
                                                            {"assistant:", "no", false}};
        for (const int threads : {1, 2, 5}) {
            const auto batched = tokenize_requests(model, requests, threads);
            ASSERT_EQ(batched.size(), requests.size());
            for (size_t i = 0; i < requests.size(); ++i) {
                const auto alone = tokenize_request(model, requests[i]);
                EXPECT_EQ(batched[i].tokens, alone.tokens) << path << " request " << i;
                EXPECT_EQ(batched[i].n_context, alone.n_context) << path << " request " << i;
                EXPECT_EQ(batched[i].boundary, alone.boundary) << path << " request " << i;
            }
        }
    }
}

TEST(TokenizeRequests, AnErrorNamesTheFirstFailingRequest) {
    Model model(test::model_path("tiny-f16"));
    const std::vector<LoglikelihoodRequest> requests = {
        {"The cat", " sat", false}, {"The cat", "", false}, {"The dog", " ", false}};
    try {
        tokenize_requests(model, requests, 2, [](size_t i) { return "item " + std::to_string(i) + ": "; });
        FAIL() << "expected an error";
    } catch (const Error & e) {
        EXPECT_EQ(std::string(e.what()).rfind("item 1: ", 0), 0U) << e.what();
        EXPECT_NE(std::string(e.what()).find("continuation is empty"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace compeval
