// The lab's toy language: deterministic, held-out combinations never leak into
// training while their words do, items follow PLANE's truth table, and a
// word-level vocabulary that llama.cpp's own tokenizer reproduces exactly.
#include "backends/model.hpp"
#include "lab/toy_language.hpp"
#include "lab/word_vocab.hpp"
#include "model/random_model.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

namespace compeval {
namespace {

ToyLanguageConfig small_config() {
    ToyLanguageConfig c;
    c.train_sentences = 4000;
    c.validation_sentences = 300;
    c.eval_items_per_split = 200;
    c.rare_share = 0.2;
    c.noise = 0.0;
    return c;
}

std::vector<std::string> words_of(const std::string & s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;) {
        out.push_back(w);
    }
    return out;
}

TEST(LabLanguage, SameSeedSameLanguageOtherSeedOtherLanguage) {
    const auto a = generate_toy_language(small_config());
    const auto b = generate_toy_language(small_config());
    EXPECT_EQ(a.train, b.train);
    EXPECT_EQ(a.heldout, b.heldout);
    auto other = small_config();
    other.seed = 2;
    EXPECT_NE(generate_toy_language(other).train, a.train);
}

TEST(LabLanguage, HeldOutCombinationsNeverInTrainingButTheirWordsAre) {
    const auto lang = generate_toy_language(small_config());
    ASSERT_FALSE(lang.heldout.empty());
    const double share =
        static_cast<double>(lang.heldout.size()) / static_cast<double>(lang.heldout.size() + lang.seen.size());
    EXPECT_GT(share, 0.45);  // about heldout_share, a little more for rare adjectives
    std::set<std::pair<std::string, std::string>> heldout;
    for (const auto & [a, n] : lang.heldout) {
        heldout.emplace(lang.adjectives[static_cast<size_t>(a)], lang.nouns[static_cast<size_t>(n)]);
    }
    std::set<std::string> adjectives(lang.adjectives.begin(), lang.adjectives.end());
    std::set<std::string> nouns(lang.nouns.begin(), lang.nouns.end());
    std::set<std::string> trained_words;
    for (const auto * corpus : {&lang.train, &lang.validation}) {
        for (const auto & s : *corpus) {
            const auto w = words_of(s);
            trained_words.insert(w.begin(), w.end());
            // Any adjective directly before a noun is a combination the sentence teaches.
            for (size_t i = 0; i + 1 < w.size(); ++i) {
                ASSERT_FALSE(adjectives.contains(w[i]) && nouns.contains(w[i + 1]) &&
                             heldout.contains({w[i], w[i + 1]}))
                    << "held-out " << w[i] << " " << w[i + 1] << " in: " << s;
            }
        }
    }
    for (const auto & [adj, noun] : heldout) {
        EXPECT_TRUE(trained_words.contains(adj)) << adj;
        EXPECT_TRUE(trained_words.contains(noun)) << noun;
    }
}

TEST(LabLanguage, ItemsFollowThePlaneTruthTable) {
    const auto lang = generate_toy_language(small_config());
    ASSERT_EQ(lang.unseen_items.size(), 200U);
    std::set<std::string> types;
    for (const auto & it : lang.unseen_items) {
        types.insert(it.inference_type);
        const bool negated = it.good.find(" not ") != std::string::npos;
        const auto & c = it.adj_class;
        const auto & t = it.inference_type;
        const bool expected = c == "I" ? true : c == "S" ? t != "AN=>A-H" : t == "AN=>A-H";
        EXPECT_EQ(!negated, t == "context" ? c != "P" : expected) << it.good;
        EXPECT_NE(it.good, it.bad);
    }
    EXPECT_EQ(types, (std::set<std::string>{"AN=>N", "AN=>H", "AN=>A-H", "context"}));
}

TEST(LabLanguage, HypernymChainsAreTaughtLinkByLinkAndAskedAtEveryLevel) {
    auto config = small_config();
    config.hypernym_depth = 3;
    const auto lang = generate_toy_language(config);
    ASSERT_EQ(lang.hypernyms.size(), 8U + 4U + 2U);  // half as many per level up
    std::map<std::string, std::string> parent_of;    // every word's hypernym, one step up
    for (size_t n = 0; n < lang.nouns.size(); ++n) {
        parent_of[lang.nouns[n]] = lang.hypernyms[static_cast<size_t>(lang.hypernym_of[n])];
        EXPECT_EQ(lang.hypernym_chain(static_cast<int>(n)).size(), 3U);
    }
    for (size_t h = 0; h < lang.hypernyms.size(); ++h) {
        if (lang.hypernym_parent[h] >= 0) {
            parent_of[lang.hypernyms[h]] = lang.hypernyms[static_cast<size_t>(lang.hypernym_parent[h])];
        }
    }
    std::set<std::string> links;
    for (const auto & s : lang.train) {
        const auto w = words_of(s);
        if (w.front() == "every") {
            ASSERT_EQ(w.size(), 5U) << s;
            ASSERT_EQ(parent_of.at(w[1]), w[4]) << "not one link of a chain: " << s;
            links.insert(w[1]);
        }
    }
    EXPECT_GT(links.size(), lang.nouns.size());  // links above the nouns are taught too
    std::set<int> levels;
    for (const auto & it : lang.unseen_items) {
        const bool about_hypernym = it.inference_type == "AN=>H" || it.inference_type == "AN=>A-H";
        EXPECT_EQ(it.hypernym_level > 0, about_hypernym) << it.good;
        levels.insert(it.hypernym_level);
        if (about_hypernym) {
            // The sentence names the hypernym `level` steps up from its noun.
            std::string h = it.noun;
            for (int l = 0; l < it.hypernym_level; ++l) {
                h = parent_of.at(h);
            }
            EXPECT_EQ(words_of(it.good).back(), h) << it.good;
        }
    }
    EXPECT_EQ(levels, (std::set<int>{0, 1, 2, 3}));
    const auto words = lang.words();
    for (const auto & h : lang.hypernyms) {
        EXPECT_NE(std::find(words.begin(), words.end(), h), words.end()) << h;
    }
    config.hypernym_depth = 5;
    EXPECT_THROW(generate_toy_language(config), Error);
}

TEST(LabVocab, LlamaTokenizeYieldsTheTrainersIdsForEverySentence) {
    const auto lang = generate_toy_language(small_config());
    const WordVocab vocab(lang.words());
    const std::string dir = test::temp_dir("lab-vocab");
    vocab.write_gguf(dir + "/vocab.gguf");
    RandomModelSpec spec = random_model_preset("tiny");
    spec.vocab_path = dir + "/vocab.gguf";
    spec.weights = WeightType::F32;
    write_random_model(spec, dir + "/model.gguf");
    Model model(dir + "/model.gguf");
    EXPECT_EQ(model.facts().n_vocab, static_cast<int>(vocab.size()));
    EXPECT_LT(vocab.size(), 1200U);  // words, their prefixes, 256 bytes, 3 specials
    size_t checked = 0;
    auto check = [&](const std::string & s) {
        const auto ids = vocab.encode(s);
        const auto got = model.tokenize(s, false);
        ASSERT_EQ(std::vector<Token>(ids.begin(), ids.end()), got) << s;
        ++checked;
    };
    for (const auto & s : lang.train) {
        check(s);
    }
    for (const auto & s : lang.validation) {
        check(s);
    }
    for (const auto & it : lang.unseen_items) {
        check(it.good);
        check(it.bad);
    }
    EXPECT_EQ(checked, lang.train.size() + lang.validation.size() + 2 * lang.unseen_items.size());
    const auto with_bos = model.tokenize(lang.train[0], true);
    EXPECT_EQ(with_bos.front(), vocab.bos());
    EXPECT_EQ(test::error_of([&] { vocab.encode("a zzzq"); }), "word 'zzzq' is not in the vocabulary");
}

}  // namespace
}  // namespace compeval
