#include "analysis/scoring_methods.hpp"

#include "analysis/interval_json.hpp"
#include "analysis/statistics.hpp"

#include <map>
#include <set>
#include <string>

namespace compeval {
namespace {

// A route's answers of one model x task x split: per item (id), the item x
// variant correctness by variant.
using RouteAnswers = std::map<std::string, std::map<std::string, bool>>;

// Likelihood routes first, then first-token, then generative: A is the more exact reading.
struct RouteOrder {
    static int rank(const std::string & r) { return r == "first_token" ? 1 : r == "generate" ? 2 : 0; }
    bool operator()(const std::string & a, const std::string & b) const {
        return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
    }
};

int direction(const nlohmann::json & f) {
    const double low = f.value("low", 0.0);
    const double high = f.value("high", 0.0);
    return low > 0 ? 1 : high < 0 ? -1 : 0;
}

}  // namespace

nlohmann::json scoring_method_comparison(const std::vector<RunSample> & samples, int iterations, uint64_t seed) {
    // (model, task, split) -> route -> answers; no_answer counts alongside.
    std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, RouteAnswers, RouteOrder>>
        grouped;
    std::map<std::tuple<std::string, std::string, std::string, std::string>, size_t> no_answers;
    for (const auto & s : samples) {
        grouped[{s.model, s.task_name, s.split}][s.route][s.id][s.variant] = s.correct;
        no_answers[{s.model, s.task_name, s.split, s.route}] += s.no_answer ? 1 : 0;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto & [key, routes] : grouped) {
        if (routes.size() < 2) {
            continue;
        }
        const auto & [model, task, split] = key;
        for (auto a = routes.begin(); a != routes.end(); ++a) {
            for (auto b = std::next(a); b != routes.end(); ++b) {
                std::vector<double> score_a;
                std::vector<double> score_b;
                uint64_t only_a = 0;
                uint64_t only_b = 0;
                for (const auto & [id, variants_a] : a->second) {
                    const auto it = b->second.find(id);
                    if (it == b->second.end()) {
                        continue;
                    }
                    double sa = 0;
                    double sb = 0;
                    size_t n = 0;
                    for (const auto & [variant, correct_a] : variants_a) {
                        const auto vb = it->second.find(variant);
                        if (vb == it->second.end()) {
                            continue;
                        }
                        sa += correct_a ? 1 : 0;
                        sb += vb->second ? 1 : 0;
                        only_a += correct_a && !vb->second ? 1 : 0;
                        only_b += !correct_a && vb->second ? 1 : 0;
                        ++n;
                    }
                    if (n > 0) {
                        score_a.push_back(sa / static_cast<double>(n));
                        score_b.push_back(sb / static_cast<double>(n));
                    }
                }
                if (score_a.empty()) {
                    continue;
                }
                const auto mean_a = bootstrap_mean(score_a, iterations, seed);
                const auto mean_b = bootstrap_mean(score_b, iterations, seed);
                const auto diff = paired_bootstrap_difference(score_a, score_b, iterations, seed);
                out.push_back({{"model", model},
                               {"task", task},
                               {"split", split},
                               {"route_a", a->first},
                               {"route_b", b->first},
                               {"n", score_a.size()},
                               {"accuracy_a", interval_json(mean_a)},
                               {"accuracy_b", interval_json(mean_b)},
                               {"difference", interval_json(diff)},
                               {"mcnemar_p", mcnemar_exact_p(only_a, only_b)},
                               {"no_answer_a", no_answers[{model, task, split, a->first}]},
                               {"no_answer_b", no_answers[{model, task, split, b->first}]}});
            }
        }
    }
    return out;
}

nlohmann::json instruction_tuning_by_route(const nlohmann::json & findings) {
    std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, nlohmann::json> rows;
    for (const auto & f : findings) {
        if (f.value("comparison", "") != "instruction tuning") {
            continue;
        }
        const std::string label = f.value("task", "");
        const auto colon = label.rfind(':');
        const bool routed = colon != std::string::npos &&
                            (label.substr(colon + 1) == "first_token" || label.substr(colon + 1) == "generate");
        const std::string task = routed ? label.substr(0, colon) : label;
        const std::string route = routed ? label.substr(colon + 1) : "loglikelihood";
        auto & row = rows[{f.value("family", ""), task, f.value("split", ""), f.value("a", ""), f.value("b", "")}];
        row["routes"].push_back({{"route", route},
                                 {"effect", f["effect"]},
                                 {"low", f["low"]},
                                 {"high", f["high"]},
                                 {"p_holm", f.value("p_holm", 1.0)},
                                 {"verdict", f.value("verdict", "")},
                                 {"direction", direction(f)}});
    }
    nlohmann::json out = nlohmann::json::array();
    for (auto & [key, row] : rows) {
        if (row["routes"].size() < 2) {
            continue;
        }
        std::set<int> directions;
        for (const auto & r : row["routes"]) {
            directions.insert(r["direction"].get<int>());
        }
        const auto & [family, task, split, a, b] = key;
        row.update({{"family", family},
                    {"task", task},
                    {"split", split},
                    {"a", a},
                    {"b", b},
                    {"flips", directions.size() > 1}});
        out.push_back(row);
    }
    return out;
}

nlohmann::json answer_route_rates(const std::vector<RunSample> & samples) {
    std::map<std::pair<std::string, std::string>, std::tuple<std::string, uint64_t, uint64_t, uint64_t>> counts;
    for (const auto & s : samples) {
        if (s.route != "first_token" && s.route != "generate") {
            continue;
        }
        auto & [route, n, none, missing] = counts[{s.model, s.task}];
        route = s.route;
        ++n;
        none += s.no_answer ? 1 : 0;
        missing += s.top_k_missing ? 1 : 0;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto & [key, c] : counts) {
        const auto & [route, n, none, missing] = c;
        nlohmann::json row = {{"model", key.first}, {"task", key.second},
                              {"route", route},     {"answers", n},
                              {"no_answer", none},  {"no_answer_rate", interval_json(wilson_interval(none, n))}};
        if (route == "first_token") {
            row["top_k_missing"] = missing;
            row["top_k_missing_rate"] = interval_json(wilson_interval(missing, n));
        }
        out.push_back(std::move(row));
    }
    return out;
}

}  // namespace compeval
