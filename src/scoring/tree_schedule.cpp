#include "scoring/tree_schedule.hpp"

#include <algorithm>

namespace compeval {

void schedule_tree(const PrefixTree & tree, llama_memory_t memory, const TreeScheduleOptions & options,
                   const std::function<void(int32_t node, const std::vector<llama_seq_id> & seqs)> & add,
                   const std::function<void(size_t leaves_done)> & end_window) {
    llama_memory_clear(memory, true);
    const auto n_leaves = tree.leaves.size();
    const int max_lanes = options.max_sequences - 1;
    const int leaf_token = options.decode_leaves ? 1 : 0;
    llama_seq_id anchor_seq = -1;
    int32_t anchor_len = 0;
    std::vector<llama_seq_id> lane_seq;
    std::vector<std::vector<int32_t>> lane_path;
    std::vector<llama_seq_id> seq_ids;

    for (size_t a = 0; a < n_leaves;) {
        // Choose the window [a, b): leaves whose new tokens fit the KV budget.
        const int budget = options.ctx_cells - anchor_len;
        size_t b = a;
        int window_tokens = 0;
        while (b < n_leaves && static_cast<int>(b - a) < max_lanes) {
            const int fresh = tree.depth[tree.leaves[b]] + leaf_token - (b == a ? anchor_len : tree.leaf_shared[b]);
            if (b > a && window_tokens + fresh > std::min(budget, options.window)) {
                break;
            }
            window_tokens += fresh;
            ++b;
        }

        lane_seq.clear();
        lane_path.clear();
        for (llama_seq_id s = 0; lane_seq.size() < b - a; ++s) {
            if (s != anchor_seq) {
                lane_seq.push_back(s);
            }
        }
        // Each lane starts with the part of the anchor it shares.
        int32_t shared_with_anchor = anchor_len;
        for (size_t j = a; j < b; ++j) {
            if (j > a) {
                shared_with_anchor = std::min(shared_with_anchor, tree.leaf_shared[j]);
            }
            if (anchor_seq >= 0 && shared_with_anchor > 0) {
                llama_memory_seq_cp(memory, anchor_seq, lane_seq[j - a], 0, shared_with_anchor);
            }
            lane_path.push_back(tree.path(tree.leaves[j]));
            if (!options.decode_leaves) {
                lane_path.back().pop_back();
            }
        }
        // New tokens in DFS order (every parent precedes its children); each
        // token joins every lane of this window whose path runs through it.
        // A leaf shares at most its parent's prefix with any other leaf, so
        // whatever a later lane needs is on an earlier lane's path.
        for (size_t j = a; j < b; ++j) {
            const auto & path = lane_path[j - a];
            const int32_t first_new = j == a ? anchor_len : tree.leaf_shared[j];
            for (int32_t pos = first_new; pos < static_cast<int32_t>(path.size()); ++pos) {
                seq_ids.assign(1, lane_seq[j - a]);
                for (size_t k = j + 1; k < b && tree.leaf_shared[k] > pos; ++k) {
                    seq_ids.push_back(lane_seq[k - a]);
                }
                add(path[static_cast<size_t>(pos)], seq_ids);
            }
        }
        end_window(b);

        // Keep only what the next window shares with this window's last leaf.
        if (anchor_seq >= 0) {
            llama_memory_seq_rm(memory, anchor_seq, -1, -1);
        }
        for (size_t j = a; j + 1 < b; ++j) {
            llama_memory_seq_rm(memory, lane_seq[j - a], -1, -1);
        }
        anchor_seq = lane_seq[b - 1 - a];
        anchor_len = b < n_leaves ? tree.leaf_shared[b] : 0;
        llama_memory_seq_rm(memory, anchor_seq, anchor_len, -1);
        if (anchor_len == 0) {
            llama_memory_seq_rm(memory, anchor_seq, -1, -1);
            anchor_seq = -1;
        }
        a = b;
    }
    llama_memory_clear(memory, true);
}

}  // namespace compeval
