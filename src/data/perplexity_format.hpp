#pragma once
// Writes items in llama-perplexity's --multiple-choice binary format, so that
// llama.cpp's own tool can score the same items for comparison.
#include "data/mc_items.hpp"

#include <string>
#include <vector>

namespace compeval {

// llama-perplexity joins question and answer with one space. An item converts
// exactly when its context does not end in whitespace and every choice starts
// with one space; otherwise compeval::Error names the item.
void write_perplexity_mc(const std::vector<McItem> & items, const std::string & path);

}  // namespace compeval
