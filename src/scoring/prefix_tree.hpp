#pragma once
// A token trie over all requests of one scoring call. Each node is one token
// at one position; requests that share a token prefix share its nodes, so the
// engine evaluates every shared prefix (an item's context, a few-shot preamble)
// exactly once.
#include "backends/model.hpp"

#include <cstdint>
#include <vector>

namespace compeval {

struct PrefixTree {
    std::vector<Token> token;
    std::vector<int32_t> parent;  // -1 for a root (position 0)
    std::vector<int32_t> depth;   // the token's position in its sequence
    std::vector<int32_t> first_child;
    std::vector<int32_t> next_sibling;

    std::vector<int32_t> end_node;  // per input sequence: its last token's node

    // Nodes without children, in depth-first (lexicographic) order. A leaf's
    // path is one sequence the engine must hold in the KV cache.
    std::vector<int32_t> leaves;
    // Per leaf: the length of the prefix it shares with the previous leaf.
    // In DFS order this is the longest prefix it shares with any earlier leaf.
    std::vector<int32_t> leaf_shared;

    size_t size() const { return token.size(); }

    // The node ids on the path root..node (index = position).
    std::vector<int32_t> path(int32_t node) const;

    // Builds the tree; every sequence must be non-empty.
    static PrefixTree build(const std::vector<const std::vector<Token> *> & sequences);
};

}  // namespace compeval
