#include "analysis/observed_outcomes.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

namespace compeval {
namespace {

struct ItemOutcomes {
    std::vector<double> counts;
    double agreed = 0;  // rows whose outcome the answers named, summed over prompts
    size_t answers = 0;
};

std::string dropped_text(const nlohmann::json & dropped, bool ja) {
    std::string out;
    for (const auto & [reason, n] : dropped.items()) {
        out += (out.empty() ? "" : ", ") + fmt::format("{} {}", n.get<size_t>(), reason);
    }
    return out.empty() ? "" : (ja ? " (除外: " : " (dropped: ") + out + ")";
}

}  // namespace

nlohmann::json noise_ceiling_rows(const std::vector<const RunSample *> & samples) {
    std::map<std::string, std::map<std::string, ItemOutcomes>> splits;  // split -> id -> outcomes
    for (const auto * s : samples) {
        if (s->human.empty()) {
            continue;
        }
        auto & item = splits[s->split][s->id];
        item.counts = s->human;
        if (s->pred >= 0 && static_cast<size_t>(s->pred) < s->human.size()) {
            item.agreed += s->human[static_cast<size_t>(s->pred)];
        }
        ++item.answers;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto & [split, items] : splits) {
        double rows = 0;
        double majority = 0;
        double agreed = 0;
        double ceiling_mean = 0;
        double agreed_mean = 0;
        for (const auto & [id, item] : items) {
            const double n = std::accumulate(item.counts.begin(), item.counts.end(), 0.0);
            const double top = *std::max_element(item.counts.begin(), item.counts.end());
            const double agree = item.agreed / static_cast<double>(item.answers);
            rows += n;
            majority += top;
            agreed += agree;
            ceiling_mean += top / n;
            agreed_mean += agree / n;
        }
        const auto k = static_cast<double>(items.size());
        out.push_back({{"split", split},
                       {"combinations", items.size()},
                       {"rows", static_cast<size_t>(rows)},
                       {"ceiling", {{"rows", majority / rows}, {"combinations", ceiling_mean / k}}},
                       {"agreement", {{"rows", agreed / rows}, {"combinations", agreed_mean / k}}}});
    }
    return out;
}

nlohmann::json read_run_records(const std::string & run_dir) {
    const std::string path = run_dir + "/domain/split.json";
    if (!std::filesystem::is_regular_file(path)) {
        return nullptr;
    }
    std::ifstream in(path, std::ios::binary);
    nlohmann::json split;
    try {
        split = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception &) {
        throw Error(path + ": invalid JSON (written by compeval pilot; run the pilot again to rewrite it)");
    }
    return split.contains("records") ? split : nlohmann::json(nullptr);
}

std::string records_sentence(const nlohmann::json & split, bool ja) {
    const auto & r = split.at("records");
    const size_t left_out = split.value("left_out", nlohmann::json::array()).size();
    const auto & ceiling = split.at("noise_ceiling");
    const std::string date = split.value("unseen_from", "");
    if (ja) {
        return fmt::format(
            "記録: {} 行を読み、{} 行を使用{}。観測された組み合わせ {} (既見 {}、未見 {}{})、多数派が同数のもの {}、"
            "結果が割れたもの {}。ノイズの上限 (各組み合わせで最も多い結果が行に占める割合。どのモデルもこれより多く"
            "の行とは一致しない): 既見 {:.3f}、未見 {:.3f}。",
            r.at("rows_read").get<size_t>(), r.at("rows_kept").get<size_t>(), dropped_text(r.at("rows_dropped"), true),
            r.at("combinations").get<size_t>(), split.at("seen").get<size_t>(), split.at("unseen").get<size_t>(),
            left_out > 0 ? fmt::format("、除外 {}: {} より前に見ていない要素を含む", left_out, date) : "",
            r.at("ties").get<size_t>(), r.at("combinations_with_disagreeing_outcomes").get<size_t>(),
            ceiling.at("seen").get<double>(), ceiling.at("unseen").get<double>());
    }
    return fmt::format(
        "Records: {} rows read, {} kept{}; {} combinations observed ({} seen, {} unseen{}), {} with a tied majority, "
        "{} with disagreeing outcomes. Noise ceiling (each combination's most frequent outcome's share of its rows: no "
        "model agrees with more rows): seen {:.3f}, unseen {:.3f}.",
        r.at("rows_read").get<size_t>(), r.at("rows_kept").get<size_t>(), dropped_text(r.at("rows_dropped"), false),
        r.at("combinations").get<size_t>(), split.at("seen").get<size_t>(), split.at("unseen").get<size_t>(),
        left_out > 0 ? fmt::format(", {} left out: an atom not seen before {}", left_out, date) : "",
        r.at("ties").get<size_t>(), r.at("combinations_with_disagreeing_outcomes").get<size_t>(),
        ceiling.at("seen").get<double>(), ceiling.at("unseen").get<double>());
}

}  // namespace compeval
