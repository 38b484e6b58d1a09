#include "tasks/item_sample.hpp"

#include "util/error.hpp"
#include "util/sha256.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

namespace compeval {
namespace {

uint64_t stratum_seed(uint64_t seed, const std::string & task, const std::string & split, const std::string & stratum) {
    const std::string digest = sha256_string(std::to_string(seed) + '\x1f' + task + '\x1f' + split + '\x1f' + stratum);
    return std::stoull(digest.substr(0, 16), nullptr, 16);
}

}  // namespace

LimitOrder limit_order_from_name(const std::string & name) {
    if (name == "sample") {
        return LimitOrder::Sample;
    }
    if (name == "file") {
        return LimitOrder::File;
    }
    throw Error("limit order must be sample or file, not '" + name + "'");
}

const char * limit_order_name(LimitOrder order) {
    return order == LimitOrder::File ? "file" : "sample";
}

nlohmann::json limit_json(const ItemLimit & limit) {
    return {{"n", limit.n}, {"order", limit_order_name(limit.order)}, {"seed", limit.seed}};
}

std::vector<TaskItem> limit_items(std::vector<TaskItem> items, const ItemLimit & limit, const std::string & task,
                                  const std::string & split) {
    if (limit.n == 0 || items.size() <= limit.n) {
        return items;
    }
    if (limit.order == LimitOrder::File) {
        items.resize(limit.n);
        return items;
    }
    std::vector<std::string> order;  // strata in order of first appearance
    std::map<std::string, std::vector<size_t>> strata;
    for (size_t i = 0; i < items.size(); ++i) {
        const std::string & key = items[i].stratum;
        if (!strata.contains(key)) {
            order.push_back(key);
        }
        strata[key].push_back(i);
    }
    // Largest remainder: each stratum's floor share, then one more to the
    // strata with the largest fractions (first appearance breaks ties).
    std::map<std::string, size_t> take;
    std::vector<std::pair<double, size_t>> remainders;
    size_t given = 0;
    for (size_t s = 0; s < order.size(); ++s) {
        const double share = static_cast<double>(limit.n) * static_cast<double>(strata[order[s]].size()) /
                             static_cast<double>(items.size());
        take[order[s]] = static_cast<size_t>(share);
        given += take[order[s]];
        remainders.emplace_back(share - static_cast<double>(take[order[s]]), s);
    }
    std::stable_sort(remainders.begin(), remainders.end(),
                     [](const auto & a, const auto & b) { return a.first > b.first; });
    for (size_t r = 0; given < limit.n && r < remainders.size(); ++r, ++given) {
        ++take[order[remainders[r].second]];
    }
    std::vector<size_t> kept;
    for (const auto & key : order) {
        auto members = strata[key];
        std::mt19937_64 rng(stratum_seed(limit.seed, task, split, key));
        std::shuffle(members.begin(), members.end(), rng);
        kept.insert(kept.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(take[key]));
    }
    std::sort(kept.begin(), kept.end());
    std::vector<TaskItem> out;
    out.reserve(kept.size());
    for (const size_t i : kept) {
        out.push_back(std::move(items[i]));
    }
    return out;
}

}  // namespace compeval
