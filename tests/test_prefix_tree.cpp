#include "scoring/prefix_tree.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace compeval {
namespace {

std::vector<std::vector<Token>> random_sequences(uint64_t seed, size_t n) {
    std::mt19937_64 rng(seed);
    std::vector<std::vector<Token>> seqs;
    for (size_t i = 0; i < n; ++i) {
        std::vector<Token> s(1 + rng() % 8);
        for (auto & t : s) {
            t = static_cast<Token>(rng() % 3);  // tiny alphabet: many shared prefixes
        }
        seqs.push_back(s);
    }
    return seqs;
}

TEST(PrefixTree, SharesEveryCommonPrefixExactlyOnce) {
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        const auto seqs = random_sequences(seed, 40);
        std::vector<const std::vector<Token> *> ptrs;
        for (const auto & s : seqs) {
            ptrs.push_back(&s);
        }
        const auto tree = PrefixTree::build(ptrs);
        std::set<std::vector<Token>> prefixes;
        for (const auto & s : seqs) {
            for (size_t n = 1; n <= s.size(); ++n) {
                prefixes.insert(std::vector<Token>(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(n)));
            }
        }
        EXPECT_EQ(tree.size(), prefixes.size());
        for (size_t i = 0; i < seqs.size(); ++i) {
            const auto path = tree.path(tree.end_node[i]);
            ASSERT_EQ(path.size(), seqs[i].size());
            for (size_t p = 0; p < path.size(); ++p) {
                EXPECT_EQ(tree.token[path[p]], seqs[i][p]);
                EXPECT_EQ(tree.depth[path[p]], static_cast<int32_t>(p));
            }
        }
    }
}

TEST(PrefixTree, LeavesAreSortedAndSharedLengthsAreLcps) {
    const auto seqs = random_sequences(7, 60);
    std::vector<const std::vector<Token> *> ptrs;
    for (const auto & s : seqs) {
        ptrs.push_back(&s);
    }
    const auto tree = PrefixTree::build(ptrs);
    std::vector<std::vector<Token>> leaf_seqs;
    for (int32_t leaf : tree.leaves) {
        EXPECT_EQ(tree.first_child[leaf], -1);
        std::vector<Token> s;
        for (int32_t n : tree.path(leaf)) {
            s.push_back(tree.token[n]);
        }
        leaf_seqs.push_back(s);
    }
    EXPECT_TRUE(std::is_sorted(leaf_seqs.begin(), leaf_seqs.end()));
    for (size_t i = 1; i < leaf_seqs.size(); ++i) {
        const auto & a = leaf_seqs[i - 1];
        const auto & b = leaf_seqs[i];
        int32_t lcp = 0;
        while (lcp < static_cast<int32_t>(std::min(a.size(), b.size())) && a[lcp] == b[lcp]) {
            ++lcp;
        }
        EXPECT_EQ(tree.leaf_shared[i], lcp) << "leaf " << i;
    }
    // Every sequence that is not a prefix of another ends at a leaf.
    size_t not_prefix = 0;
    for (const auto & s : seqs) {
        bool is_prefix = false;
        for (const auto & t : seqs) {
            if (t.size() > s.size() && std::equal(s.begin(), s.end(), t.begin())) {
                is_prefix = true;
            }
        }
        not_prefix += is_prefix ? 0 : 1;
    }
    std::set<std::vector<Token>> distinct_leaves(leaf_seqs.begin(), leaf_seqs.end());
    EXPECT_EQ(distinct_leaves.size(), leaf_seqs.size());
    EXPECT_LE(leaf_seqs.size(), not_prefix);
}

}  // namespace
}  // namespace compeval
