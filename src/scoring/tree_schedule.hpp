#pragma once
// The order in which a prefix tree's tokens go through llama.cpp, and the KV
// sequences they live in: shared by every engine that decodes a tree
// (log-likelihood scoring, hidden-state extraction).
#include "scoring/prefix_tree.hpp"

#include <llama.h>

#include <cstddef>
#include <functional>
#include <vector>

namespace compeval {

struct TreeScheduleOptions {
    int ctx_cells = 0;      // KV cells of the context
    int window = 0;         // new tokens per window (at least the longest path)
    int max_sequences = 2;  // KV sequences of the context
    // Whether leaf tokens are decoded. Scoring reads a leaf's log-probability
    // from its parent's logits and nothing attends to it, so it skips them;
    // hidden states need the leaf's own residual stream.
    bool decode_leaves = true;
};

// Walks the leaves in DFS order, window by window: each window's leaves get
// one KV sequence each (a lane); the prefix a window shares with the previous
// one is copied from the anchor; every new token is passed to `add` once,
// parents before children, with every lane whose path runs through it. After
// each window `end_window(leaves_done)` runs (the caller decodes what it
// batched) and the sequences are trimmed to the next window's anchor.
// Leaves the memory empty.
void schedule_tree(const PrefixTree & tree, llama_memory_t memory, const TreeScheduleOptions & options,
                   const std::function<void(int32_t node, const std::vector<llama_seq_id> & seqs)> & add,
                   const std::function<void(size_t leaves_done)> & end_window);

}  // namespace compeval
