#pragma once
// Seeded synthetic multiple-choice items for tests and benchmarks: random
// word sentences as contexts, random word phrases as choices, and optionally
// one shared "few-shot" preamble in front of every context.
#include "data/mc_items.hpp"

#include <cstdint>
#include <vector>

namespace compeval {

struct SyntheticItemsSpec {
    size_t n_items = 100;
    size_t n_choices = 4;
    size_t context_words = 12;
    size_t choice_words = 3;
    size_t preamble_words = 0;  // 0: zero-shot; ~150 words give a ~200-token preamble
    uint64_t seed = 1;
};

// Choices of one item start with distinct words; each choice starts with a space.
std::vector<McItem> synthetic_mc_items(const SyntheticItemsSpec & spec);

void write_mc_items_jsonl(const std::vector<McItem> & items, const std::string & path);

}  // namespace compeval
