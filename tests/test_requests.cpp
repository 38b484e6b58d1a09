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
    try {
        tokenize_request(model, {"The cat", "", false});
        FAIL() << "expected an error";
    } catch (const Error & e) {
        EXPECT_NE(std::string(e.what()).find("zero tokens"), std::string::npos) << e.what();
    }
}

TEST(TokenizeRequest, EmptyContextConditionsOnBos) {
    Model model(test::model_path("tiny-f16"));
    const auto r = tokenize_request(model, {"", "Hello", false});
    EXPECT_EQ(r.n_context, 1U);
    EXPECT_EQ(r.tokens.front(), model.bos());
    EXPECT_EQ(r.tokens.size(), 1 + model.tokenize("Hello", false).size());
}

}  // namespace
}  // namespace compeval
