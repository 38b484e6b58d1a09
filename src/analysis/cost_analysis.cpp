#include "analysis/cost_analysis.hpp"

#include "util/json_number.hpp"

#include "analysis/replicate_statistics.hpp"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace compeval {
namespace {

// Rates from the measured requests, extrapolated to every request a task
// needs (a resumed run measured only part of them).
nlohmann::json model_cost(const nlohmann::json & m, const CostOptions & options) {
    double items = 0;
    double seconds = 0;
    double measured_seconds = 0;
    double tokens = 0;
    for (const auto & t : m.value("tasks", nlohmann::json::array())) {
        const double measured = t.value("measured_requests", 0.0);
        if (measured <= 0) {
            continue;
        }
        items += t.value("items", 0.0);
        seconds += t.value("seconds", 0.0) / measured * t.value("unique_requests", 0.0);
        measured_seconds += t.value("seconds", 0.0);
        tokens += t.value("tokens_decoded", 0.0);
    }
    nlohmann::json out = {{"model", m.value("model", "")},
                          {"family", m.value("family", "")},
                          {"size", m.value("size", "")},
                          {"variant", m.value("variant", "")},
                          {"n_params", m.value("n_params", 0.0)},
                          {"file_bytes", m.value("file_bytes", 0.0)},
                          {"quant", m.value("quant", "")},
                          {"bits_per_weight", m.value("bits_per_weight", 0.0)},
                          {"load_seconds", m.value("load_seconds", 0.0)},
                          {"peak_rss_bytes", m.value("peak_rss_bytes", 0.0)},
                          {"threads", json_whole_or<int>(m, "threads", 0, "cost.json")},
                          {"machine", m.value("machine", "")},
                          {"measured", items > 0 && seconds > 0}};
    if (items > 0 && seconds > 0) {
        const double items_per_s = items / seconds;
        out["items_per_s"] = items_per_s;
        out["tokens_per_s"] = measured_seconds > 0 ? tokens / measured_seconds : 0.0;
        out["latency_ms_per_item"] = 1000.0 / items_per_s;
        out["seconds_per_1k_items"] = 1000.0 / items_per_s;
        out["cost_per_1k_items"] =
            options.price_per_hour > 0 ? 1000.0 / items_per_s / 3600.0 * options.price_per_hour : 1000.0 / items_per_s;
    }
    return out;
}

// What the recommendation chooses among: each multi-seed recipe (its models
// answered the same items) and every model outside one.
std::map<std::string, std::vector<std::string>> candidates_of(
    const std::map<std::string, ModelScores> & scores,
    const std::map<std::string, std::vector<std::string>> & recipes) {
    std::map<std::string, std::vector<std::string>> out;
    std::set<std::string> in_recipe;
    for (const auto & [recipe, members] : recipes) {
        std::vector<std::string> scored;
        for (const auto & m : members) {
            const auto it = scores.find(m);
            if (it != scores.end() && !it->second.compositional_items.empty()) {
                scored.push_back(m);
            }
        }
        const bool same_items = std::all_of(scored.begin(), scored.end(), [&](const auto & m) {
            return scores.at(m).compositional_items.size() == scores.at(scored.front()).compositional_items.size();
        });
        if (!scored.empty() && same_items) {
            out[recipe] = scored;
            in_recipe.insert(scored.begin(), scored.end());
        }
    }
    for (const auto & [name, s] : scores) {
        if (!s.compositional_items.empty() && !in_recipe.contains(name)) {
            out[name] = {name};
        }
    }
    return out;
}

std::string fmt_interval(const Interval & i) {
    return fmt::format("{:.3f} [{:.3f}, {:.3f}]", i.estimate, i.low, i.high);
}

}  // namespace

std::vector<size_t> pareto_frontier(const std::vector<double> & accuracy, const std::vector<double> & cost) {
    std::vector<size_t> out;
    for (size_t i = 0; i < accuracy.size(); ++i) {
        bool dominated = false;
        for (size_t j = 0; j < accuracy.size() && !dominated; ++j) {
            dominated = j != i && accuracy[j] >= accuracy[i] && cost[j] <= cost[i] &&
                        (accuracy[j] > accuracy[i] || cost[j] < cost[i]);
        }
        if (!dominated) {
            out.push_back(i);
        }
    }
    return out;
}

nlohmann::json cost_section(const nlohmann::json & cost_file, const std::map<std::string, ModelScores> & scores,
                            const nlohmann::json & findings, const CostOptions & options) {
    nlohmann::json section = {
        {"unit", options.price_per_hour > 0 ? "price per 1k items" : "machine-seconds per 1k items"},
        {"price_per_hour", options.price_per_hour},
        {"models", nlohmann::json::array()}};
    // Accuracy and cost of each model measured on both.
    std::vector<double> accuracy;
    std::vector<double> cost;
    std::vector<std::string> names;
    const auto listed =
        cost_file.is_object() ? cost_file.value("models", nlohmann::json::array()) : nlohmann::json::array();
    for (const auto & m : listed) {
        auto row = model_cost(m, options);
        const auto it = scores.find(row["model"].get<std::string>());
        if (it != scores.end() && !it->second.all_items.empty()) {
            const auto acc = bootstrap_mean(it->second.all_items, options.iterations, options.seed);
            row["accuracy"] = {{"estimate", acc.estimate}, {"low", acc.low}, {"high", acc.high}};
            if (row["measured"].get<bool>()) {
                accuracy.push_back(acc.estimate);
                cost.push_back(row["cost_per_1k_items"].get<double>());
                names.push_back(row["model"].get<std::string>());
            }
        }
        section["models"].push_back(std::move(row));
    }
    nlohmann::json frontier = nlohmann::json::array();
    for (size_t i : pareto_frontier(accuracy, cost)) {
        frontier.push_back(names[i]);
    }
    section["pareto"] = frontier;
    for (auto & row : section["models"]) {
        row["on_pareto_frontier"] = std::find(frontier.begin(), frontier.end(), row["model"]) != frontier.end();
    }

    // Criterion 1, robustness: compositional accuracy (unseen combinations
    // where the data has them); contenders are the candidates (recipes, or
    // models of none) whose interval reaches the best one's estimate.
    const auto candidates = candidates_of(scores, options.recipes);
    std::map<std::string, BootstrapInterval> robust;
    std::string best;
    for (const auto & [name, members] : candidates) {
        Replicates seeds;
        for (const auto & m : members) {
            seeds.push_back(scores.at(m).compositional_items);
        }
        robust[name] = replicated_mean_interval(seeds, options.iterations, options.seed);
        if (best.empty() || robust[name].estimate > robust[best].estimate) {
            best = name;
        }
    }
    nlohmann::json reasons = nlohmann::json::array();
    if (best.empty()) {
        section["recommendation"] = {{"model", nullptr}, {"reasons", {"no scored tasks"}}};
        return section;
    }
    std::vector<std::string> contenders;
    for (const auto & [name, i] : robust) {
        if (i.high >= robust[best].estimate) {
            contenders.push_back(name);
        }
    }
    if (!options.recipes.empty()) {
        reasons.push_back(
            "Recipes: models trained with several seeds are weighed as their recipe, pooled over its seeds "
            "(the interval resamples seeds and items), never by their luckiest seed.");
    }
    reasons.push_back(
        fmt::format("Robustness: the highest compositional accuracy is {}'s, {}; not detectably "
                    "worse: {}.",
                    best, fmt_interval(robust[best]), fmt::join(contenders, ", ")));
    const double baseline = scores.at(candidates.at(best).front()).baseline;
    const bool above_chance = robust[best].low > baseline;
    if (!above_chance) {
        reasons.push_back(
            fmt::format("No model is detectably above the majority-answer baseline ({:.3f}) on "
                        "these items: none is fit for unseen combinations on this evidence.",
                        baseline));
    }

    // Criterion 2, cost: the cheapest contender (a bigger model is worth its
    // price only if it buys a detectable gain); a recipe costs its seeds' mean.
    std::map<std::string, double> measured_cost;
    for (const auto & row : section["models"]) {
        if (row["measured"].get<bool>()) {
            measured_cost[row["model"].get<std::string>()] = row["cost_per_1k_items"].get<double>();
        }
    }
    std::string pick;
    double pick_cost = 0;
    for (const auto & name : contenders) {
        double sum = 0;
        size_t n = 0;
        for (const auto & m : candidates.at(name)) {
            if (measured_cost.contains(m)) {
                sum += measured_cost.at(m);
                ++n;
            }
        }
        if (n > 0 && (pick.empty() || sum / static_cast<double>(n) < pick_cost)) {
            pick = name;
            pick_cost = sum / static_cast<double>(n);
        }
    }
    if (pick.empty()) {
        pick = best;
        reasons.push_back("Cost: not measured for the contenders (all requests were reused from the store).");
    } else {
        reasons.push_back(fmt::format("Cost: the cheapest of them is {} at {:.4g} {}.", pick, pick_cost,
                                      section["unit"].get<std::string>()));
    }

    // Criterion 3, instruction tuning: convenience only where it does not
    // detectably cost compositional accuracy.
    std::vector<std::string> hurt;
    for (const auto & f : findings) {
        if (f.value("comparison", "") == "instruction tuning" && f.value("p_holm", 1.0) < 0.05 &&
            f.value("high", 0.0) < 0.0) {
            hurt.push_back(fmt::format("{} on {} ({:+.3f})", f["a"].get<std::string>(), f["task"].get<std::string>(),
                                       f["effect"].get<double>()));
        }
    }
    if (hurt.empty()) {
        reasons.push_back("Instruction tuning: no detectable loss of compositional accuracy in these findings.");
    } else {
        reasons.push_back(
            fmt::format("Instruction tuning detectably hurt: {}; prefer the base model with a "
                        "prompt where the instruct variant is not needed.",
                        fmt::join(hurt, "; ")));
    }
    // Quantization: a smaller file is worth it only where it does not
    // detectably cost accuracy (unseen combinations above all).
    std::vector<std::string> lost;
    for (const auto & f : findings) {
        if (f.value("comparison", "") == "quantization" && f.value("p_holm", 1.0) < 0.05 &&
            f.value("high", 0.0) < 0.0) {
            lost.push_back(fmt::format("{} vs {} on {} ({} items, {:+.3f})", f["a"].get<std::string>(),
                                       f["b"].get<std::string>(), f["task"].get<std::string>(),
                                       f["split"].get<std::string>(), f["effect"].get<double>()));
        }
    }
    if (std::any_of(findings.begin(), findings.end(),
                    [](const auto & f) { return f.value("comparison", "") == "quantization"; })) {
        reasons.push_back(lost.empty()
                              ? std::string("Quantization: no quantized variant detectably lost accuracy "
                                            "against the weights it was quantized from.")
                              : fmt::format("Quantization detectably cost accuracy: {}.", fmt::join(lost, "; ")));
    }
    section["recommendation"] = {{"model", above_chance ? nlohmann::json(pick) : nlohmann::json(nullptr)},
                                 {"contenders", contenders},
                                 {"reasons", reasons}};
    return section;
}

}  // namespace compeval
