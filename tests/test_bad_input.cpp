// Every kind of bad input gets one clear line naming the file/line or cause.
#include "backends/model.hpp"
#include "data/mc_items.hpp"
#include "scoring/loglikelihood_engine.hpp"
#include "tasks/multiple_choice.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace compeval {
namespace {

using test::error_of;

void write(const std::string & path, const std::string & text) {
    std::ofstream(path, std::ios::binary) << text;
}

TEST(BadInput, TruncatedGgufNamesTheFileAndTheCause) {
    const std::string dir = test::temp_dir("bad-gguf");
    const std::string good = test::model_path("tiny-f16");
    const std::string bytes = test::read_file(good);
    write(dir + "/half.gguf", bytes.substr(0, bytes.size() / 2));
    write(dir + "/header.gguf", bytes.substr(0, 100));
    const auto half = error_of([&] { Model m(dir + "/half.gguf"); });
    EXPECT_NE(half.find(dir + "/half.gguf: truncated GGUF"), std::string::npos) << half;
    const auto header = error_of([&] { Model m(dir + "/header.gguf"); });
    EXPECT_NE(header.find("header.gguf: corrupt or truncated GGUF header"), std::string::npos) << header;
}

TEST(BadInput, NonGgufFile) {
    const std::string dir = test::temp_dir("bad-gguf2");
    write(dir + "/notes.txt", "this is not a model\n");
    const auto e = error_of([&] { Model m(dir + "/notes.txt"); });
    EXPECT_EQ(e, dir + "/notes.txt: not a GGUF file (bad magic)");
    const auto missing = error_of([&] { Model m(dir + "/absent.gguf"); });
    EXPECT_EQ(missing, dir + "/absent.gguf: no such model file");
}

TEST(BadInput, MalformedJsonlNamesFileAndLine) {
    const std::string dir = test::temp_dir("bad-jsonl");
    const std::string ok = R"({"id": 1, "context": "A red apple is", "choices": [" a fruit", " a car"], "gold": 0})";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {R"({"id": 2, "context": "x", "choices": " a fruit", "gold": 0})", "field 'choices' must be an array"},
        {R"({"id": 2, "context": 5, "choices": [" a", " b"], "gold": 0})", "field 'context' must be a string"},
        {R"({"id": 2, "context": "x", "choices": [" a", " b"]})", "missing field 'gold'"},
        {R"({"id": 2, "context": "x", "choices": [" a", " b"], "gold": 2})", "gold 2 is out of range"},
        {R"({"id": 2, "context": "x", "choices": [" a", ""], "gold": 0})", "choice 1 is empty"},
        {"{\"id\": 2, \"context\": \"caf\xC3\x28\", \"choices\": [\" a\", \" b\"], \"gold\": 0}", "invalid JSON"},
        {R"({"id": 2, "context": "x", )", "invalid JSON"},
    };
    for (const auto & [line, cause] : cases) {
        write(dir + "/items.jsonl", ok + "\n\n" + line + "\n");
        const auto e = error_of([&] { read_mc_items(dir + "/items.jsonl"); });
        EXPECT_EQ(e.rfind(dir + "/items.jsonl:3: ", 0), 0U) << e;
        EXPECT_NE(e.find(cause), std::string::npos) << e;
        EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    }
}

TEST(BadInput, ContextLongerThanTheModelWindow) {
    Model model(test::model_path("tiny-f16"));
    McItem item;
    for (int i = 0; i < 1500; ++i) {
        item.context += " red apple";
    }
    item.choices = {" yes", " no"};
    item.line = 7;
    LoglikelihoodEngine engine(model, {});
    const auto e = error_of([&] { score_mc_items(engine, {item}, "long.jsonl"); });
    EXPECT_EQ(e.rfind("long.jsonl:7: ", 0), 0U) << e;
    EXPECT_NE(e.find("longer than the model's context window of 2048"), std::string::npos) << e;
}

TEST(BadInput, EmptyContinuationIsAnErrorNotAZeroScore) {
    Model model(test::model_path("tiny-f16"));
    LoglikelihoodEngine engine(model, {});
    const auto e = error_of([&] { engine.loglikelihood({{"The sky is", "", false}}); });
    EXPECT_NE(e.find("continuation is empty"), std::string::npos) << e;
}

}  // namespace
}  // namespace compeval
