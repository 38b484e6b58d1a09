#pragma once
// The two cases the lab's training is checked on against values libtorch's
// autograd and torch.optim.AdamW computed once (tests/data/lab-reference.json,
// written by tests/tools/lab_reference.cpp): what the generator and the tests
// both build, so they build the same thing.
#include "lab/toy_language.hpp"
#include "lab/trainer.hpp"
#include "lab/word_vocab.hpp"

#include <cmath>
#include <random>
#include <vector>

namespace compeval::test {

// The norm and sum of one tensor's part of a gradient: what the stored file
// keeps per tensor and the tests compare.
struct TensorSums {
    double norm = 0;
    double sum = 0;
};
inline TensorSums tensor_sums(const std::vector<float> & gradient, const LabModel::WeightTensor & tensor) {
    double squares = 0;
    double sum = 0;
    for (int64_t i = 0; i < tensor.size(); ++i) {
        const double v = gradient[static_cast<size_t>(tensor.offset + i)];
        squares += v * v;
        sum += v;
    }
    return {std::sqrt(squares), sum};
}

// The gradient case: a two-layer model of 40 words and seven sentences of
// different lengths (one empty: BOS predicting EOS), at the initial weights
// and at weights moved away from them (perturb_weights).
struct GradientCase {
    LabModelShape shape{32, 2, 4, 48, 32};
    int vocab = 40;
    uint64_t seed = 11;
    std::vector<std::vector<int>> sentences;
};

// Every weight (the norms too) moved by up to 0.05 as training would move
// them, the same floats on every CPU: attention that is no longer uniform,
// norms that are no longer one.
inline void perturb_weights(std::vector<float> & weights) {
    std::mt19937_64 rng(13);
    for (auto & w : weights) {
        w += static_cast<float>(0.05 * (static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2.0 - 1.0));
    }
}

inline GradientCase gradient_case() {
    GradientCase c;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> word(3, c.vocab - 1);
    for (const int length : {1, 5, 11, 3, 8, 0, 14}) {
        std::vector<int> s;
        for (int i = 0; i < length; ++i) {
            s.push_back(word(rng));
        }
        c.sentences.push_back(s);
    }
    return c;
}

// The training case: the toy language at 3,000 sentences, a 48-wide model,
// two epochs (94 steps) from seed `seed`, and the per-token log-probabilities
// of the first `probes` unseen items' good sentences afterwards.
struct LoopCase {
    ToyLanguage language;
    WordVocab vocab;
    std::vector<std::vector<int>> train;
    std::vector<std::vector<int>> validation;
    std::vector<std::vector<int>> probes;
    LabModelShape shape{48, 2, 4, 128, 64};
    TrainConfig config;
};

inline ToyLanguageConfig loop_case_language() {
    ToyLanguageConfig c;
    c.train_sentences = 3000;
    c.validation_sentences = 300;
    c.eval_items_per_split = 40;
    return c;
}

inline LoopCase loop_case(uint64_t seed, int epochs = 2, size_t probes = 12) {
    auto language = generate_toy_language(loop_case_language());
    WordVocab vocab(language.words());
    LoopCase c{std::move(language), std::move(vocab)};
    for (const auto & s : c.language.train) {
        c.train.push_back(c.vocab.encode(s));
    }
    for (const auto & s : c.language.validation) {
        c.validation.push_back(c.vocab.encode(s));
    }
    for (size_t i = 0; i < probes && i < c.language.unseen_items.size(); ++i) {
        c.probes.push_back(c.vocab.encode(c.language.unseen_items[i].good));
    }
    c.config.epochs = epochs;
    c.config.seed = seed;
    c.config.threads = 1;  // one thread: bit-for-bit repeatable sums
    return c;
}

}  // namespace compeval::test
