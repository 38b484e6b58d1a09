#include "scoring/prefix_tree.hpp"

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace compeval {

std::vector<int32_t> PrefixTree::path(int32_t node) const {
    std::vector<int32_t> out(static_cast<size_t>(depth[node]) + 1);
    for (int32_t n = node; n >= 0; n = parent[n]) {
        out[static_cast<size_t>(depth[n])] = n;
    }
    return out;
}

PrefixTree PrefixTree::build(const std::vector<const std::vector<Token> *> & sequences) {
    PrefixTree tree;
    std::vector<size_t> order(sequences.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return std::lexicographical_compare(sequences[a]->begin(), sequences[a]->end(), sequences[b]->begin(),
                                            sequences[b]->end());
    });

    tree.end_node.assign(sequences.size(), -1);
    std::vector<int32_t> path;  // node ids of the previous sequence
    const std::vector<Token> * previous = nullptr;
    std::vector<int32_t> last_child;  // per node: its most recently added child
    int32_t last_root = -1;

    for (size_t index : order) {
        const auto & seq = *sequences[index];
        if (seq.empty()) {
            throw std::invalid_argument("PrefixTree: empty sequence");
        }
        size_t shared = 0;
        if (previous != nullptr) {
            const size_t limit = std::min(previous->size(), seq.size());
            while (shared < limit && (*previous)[shared] == seq[shared]) {
                ++shared;
            }
        }
        path.resize(shared);
        for (size_t pos = shared; pos < seq.size(); ++pos) {
            const auto id = static_cast<int32_t>(tree.token.size());
            const int32_t parent = pos == 0 ? -1 : path[pos - 1];
            tree.token.push_back(seq[pos]);
            tree.parent.push_back(parent);
            tree.depth.push_back(static_cast<int32_t>(pos));
            tree.first_child.push_back(-1);
            tree.next_sibling.push_back(-1);
            last_child.push_back(-1);
            // Siblings are linked in creation (= sorted) order.
            if (parent < 0) {
                if (last_root >= 0) {
                    tree.next_sibling[last_root] = id;
                }
                last_root = id;
            } else if (last_child[parent] < 0) {
                tree.first_child[parent] = id;
                last_child[parent] = id;
            } else {
                tree.next_sibling[last_child[parent]] = id;
                last_child[parent] = id;
            }
            path.push_back(id);
        }
        tree.end_node[index] = path[seq.size() - 1];
        previous = &seq;
    }

    for (int32_t n = 0; n < static_cast<int32_t>(tree.size()); ++n) {
        if (tree.first_child[n] < 0) {
            tree.leaves.push_back(n);
        }
    }
    tree.leaf_shared.resize(tree.leaves.size(), 0);
    for (size_t i = 1; i < tree.leaves.size(); ++i) {
        // Shared prefix length = depth of the lowest common ancestor + 1.
        int32_t a = tree.leaves[i - 1];
        int32_t b = tree.leaves[i];
        while (a >= 0 && tree.depth[a] > tree.depth[b]) {
            a = tree.parent[a];
        }
        while (b >= 0 && tree.depth[b] > tree.depth[a]) {
            b = tree.parent[b];
        }
        while (a != b) {
            a = tree.parent[a];
            b = tree.parent[b];
        }
        tree.leaf_shared[i] = a < 0 ? 0 : tree.depth[a] + 1;
    }
    return tree;
}

}  // namespace compeval
