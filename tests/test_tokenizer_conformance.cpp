// compeval's tokenization reproduces, id for id, the reference tokenizations
// that llama.cpp ships beside its vocab files (models/ggml-vocab-*.gguf.inp /
// .out, made by each model's original tokenizer). This proves the BOS,
// special-token and prefix-space arguments are passed the way the references
// were made (no special tokens added, none parsed), for SPM, byte-level BPE,
// WordPiece and the rest; that asking for BOS adds exactly the BOS the vocab
// asks for; and that parsing special tokens turns control-token text into its
// one token.
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <llama.h>

#include <filesystem>
#include <sstream>

namespace compeval {
namespace {

namespace fs = std::filesystem;

struct ReferenceCase {
    std::string text;
    std::vector<Token> tokens;
};

// The format of llama.cpp's tests/test-tokenizer-0.cpp: inputs separated by
// "\n__ggml_vocab_test__\n", one line of space-separated ids per input.
std::vector<ReferenceCase> read_reference(const std::string & vocab_file) {
    const std::string raw = test::read_file(vocab_file + ".inp");
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    for (size_t pos = 0; pos < raw.size();) {
        const size_t next = raw.find(sep, pos);
        inputs.push_back(raw.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (next == std::string::npos) {
            break;
        }
        pos = next + sep.size();
    }
    std::istringstream out(test::read_file(vocab_file + ".out"));
    std::vector<ReferenceCase> cases;
    std::string line;
    for (const auto & input : inputs) {
        if (!std::getline(out, line)) {
            ADD_FAILURE() << vocab_file << ".out has fewer lines than .inp has inputs";
            break;
        }
        ReferenceCase c{input, {}};
        std::istringstream ids(line);
        for (Token t = 0; ids >> t;) {
            c.tokens.push_back(t);
        }
        cases.push_back(std::move(c));
    }
    return cases;
}

TEST(TokenizerConformance, EveryReferenceTokenizationOfEveryVocabIsReproduced) {
    const fs::path dir = fs::path(default_vocab_path()).parent_path();
    std::vector<std::string> vocabs;
    for (const auto & entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("ggml-vocab-", 0) == 0 && entry.path().extension() == ".inp") {
            vocabs.push_back((dir / entry.path().stem()).string());  // the .gguf beside it
        }
    }
    std::sort(vocabs.begin(), vocabs.end());
    ASSERT_GE(vocabs.size(), 15U) << "the pinned llama.cpp ships 15 vocab files with references";
    ModelOptions vocab_only;
    vocab_only.vocab_only = true;
    size_t total = 0;
    for (const auto & vocab_file : vocabs) {
        const Model vocab(vocab_file, vocab_only);
        const auto cases = read_reference(vocab_file);
        ASSERT_FALSE(cases.empty()) << vocab_file;
        size_t reproduced = 0;
        for (const auto & c : cases) {
            const auto got = vocab.tokenize(c.text, false, false);
            if (got == c.tokens) {
                ++reproduced;
            } else {
                ADD_FAILURE() << fs::path(vocab_file).filename().string() << ": \"" << c.text << "\" gave "
                              << got.size() << " tokens, the reference " << c.tokens.size();
            }
        }
        // With BOS: exactly the BOS the vocab's metadata asks for in front,
        // nothing else changed, and never the EOS or SEP llama.cpp's
        // add_special would also append (WordPiece closes a text with [SEP]).
        const llama_vocab * v = llama_model_get_vocab(vocab.raw());
        for (size_t i = 0; i < std::min<size_t>(cases.size(), 10); ++i) {
            std::vector<Token> expected;
            if (llama_vocab_get_add_bos(v)) {
                expected.push_back(vocab.bos());
            }
            expected.insert(expected.end(), cases[i].tokens.begin(), cases[i].tokens.end());
            EXPECT_EQ(vocab.tokenize(cases[i].text, true, false), expected) << vocab_file << " case " << i;
        }
        // A control token's text is that one token only when special tokens are parsed.
        const Token control = vocab.eos() >= 0 ? vocab.eos() : llama_vocab_sep(v);
        ASSERT_GE(control, 0) << vocab_file;
        const std::string control_text = vocab.detokenize({control});
        EXPECT_EQ(vocab.tokenize(control_text, false, true), std::vector<Token>{control}) << vocab_file;
        EXPECT_NE(vocab.tokenize(control_text, false, false), std::vector<Token>{control}) << vocab_file;
        total += reproduced;
        std::printf("[ measured ] %s: %zu of %zu reference tokenizations reproduced\n",
                    fs::path(vocab_file).filename().string().c_str(), reproduced, cases.size());
    }
    std::printf("[ measured ] %zu vocabs, %zu reference tokenizations reproduced in all\n", vocabs.size(), total);
}

}  // namespace
}  // namespace compeval
