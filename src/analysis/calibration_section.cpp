#include "analysis/calibration_section.hpp"

#include "analysis/calibration.hpp"
#include "analysis/interval_json.hpp"
#include "analysis/statistics.hpp"
#include "util/parallel.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

namespace compeval {
namespace {

// Answers with a confidence, and the item each belongs to (the bootstrap's unit).
struct AnswerGroup {
    std::vector<ConfidentAnswer> answers;
    std::vector<size_t> item;  // per answer, an index into the group's items
    std::map<std::string, size_t> items;

    void add(const RunSample & s, const std::string & item_key, double rework) {
        const auto it = items.try_emplace(item_key, items.size()).first;
        item.push_back(it->second);
        answers.push_back({s.confidence, s.correct, rework});
    }
};

nlohmann::json threshold_json(double threshold) {
    return std::isfinite(threshold) ? nlohmann::json(threshold) : nlohmann::json(nullptr);
}

// At most ~40 points of a curve that may have one per answer: the chart and
// report.json need its shape, not every step (the first and last are kept).
nlohmann::json curve_json(const std::vector<CoveragePoint> & curve) {
    constexpr double kStep = 1.0 / 40.0;
    nlohmann::json out = nlohmann::json::array();
    double next = 0;
    for (size_t i = 0; i < curve.size(); ++i) {
        const auto & p = curve[i];
        if (p.coverage >= next || i + 1 == curve.size()) {
            out.push_back({{"threshold", threshold_json(p.threshold)}, {"coverage", p.coverage}, {"risk", p.risk}});
            next = p.coverage + kStep;
        }
    }
    return out;
}

// Everything the section reports about one group, with item-bootstrap draws.
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json members may throw on copy; callers expect that.
struct GroupStats {
    nlohmann::json row;
    std::vector<double> ece_draws;
    std::vector<double> brier_draws;
};

GroupStats analyze(const AnswerGroup & g, const CalibrationOptions & options, uint64_t seed,
                   const std::vector<double> & fixed_thresholds = {}) {
    const RiskCoverage rc(g.answers);
    GroupStats out;
    const auto curve = rc.curve();
    const auto bins = reliability_bins(g.answers);
    const double ece = expected_calibration_error(bins);
    const double brier = brier_score(g.answers);
    const bool priced = options.review_cost >= 0;
    const auto & targets = options.max_errors;
    const SelectiveQuery query{targets, options.review_cost, fixed_thresholds};
    const auto estimate = summarize(rc, std::vector<double>(g.answers.size(), 1.0), query);

    // Draws: items resampled with replacement, each answer weighted by its item's multiplicity.
    const auto iterations = static_cast<size_t>(options.iterations);
    std::vector<std::vector<double>> coverage_draws(targets.size());
    std::vector<std::vector<double>> fixed_coverage(fixed_thresholds.size());
    std::vector<std::vector<double>> fixed_risk(fixed_thresholds.size());
    std::vector<double> cost_draws;
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<size_t> pick(0, g.items.size() - 1);
    std::vector<double> multiplicity(g.items.size());
    std::vector<size_t> item_of_sorted(g.answers.size());  // the item of each answer in confidence order
    for (size_t k = 0; k < item_of_sorted.size(); ++k) {
        item_of_sorted[k] = g.item[rc.order()[k]];
    }
    std::vector<double> weights(g.answers.size());
    for (size_t it = 0; it < iterations; ++it) {
        std::fill(multiplicity.begin(), multiplicity.end(), 0.0);
        for (size_t k = 0; k < g.items.size(); ++k) {
            multiplicity[pick(rng)] += 1.0;
        }
        for (size_t k = 0; k < weights.size(); ++k) {
            weights[k] = multiplicity[item_of_sorted[k]];
        }
        const auto draw = summarize(rc, weights, query);
        out.ece_draws.push_back(draw.ece);
        out.brier_draws.push_back(draw.brier);
        for (size_t t = 0; t < targets.size(); ++t) {
            coverage_draws[t].push_back(draw.at_max_error[t].coverage);
        }
        for (size_t t = 0; t < fixed_thresholds.size(); ++t) {
            fixed_coverage[t].push_back(draw.at_threshold[t].coverage);
            fixed_risk[t].push_back(draw.at_threshold[t].risk);
        }
        if (priced) {
            cost_draws.push_back(1000.0 * cost_per_item(draw.least_cost, options.review_cost));
        }
    }
    const auto interval = [&](std::vector<double> draws, double estimate) {
        return interval_json(percentile_interval(std::move(draws), estimate, options.iterations, seed, 0.95));
    };
    double confidence = 0;
    double correct = 0;
    for (const auto & a : g.answers) {
        confidence += a.confidence;
        correct += a.correct ? 1.0 : 0.0;
    }
    const auto n = static_cast<double>(g.answers.size());
    auto & row = out.row;
    row = {{"answers", g.answers.size()},
           {"items", g.items.size()},
           {"accuracy", correct / n},
           {"confidence", confidence / n},
           {"overconfidence", (confidence - correct) / n},
           {"ece", interval(out.ece_draws, ece)},
           {"brier", interval(out.brier_draws, brier)},
           {"reliability", nlohmann::json::array()},
           {"risk_coverage", curve_json(curve)},
           {"selective", nlohmann::json::array()}};
    for (const auto & b : bins) {
        if (b.weight > 0) {
            const auto hits = static_cast<uint64_t>(std::llround(b.accuracy * b.weight));
            const auto w = wilson_interval(hits, static_cast<uint64_t>(std::llround(b.weight)));
            row["reliability"].push_back({{"low", b.low},
                                          {"high", b.high},
                                          {"n", b.weight},
                                          {"confidence", b.confidence},
                                          {"accuracy", b.accuracy},
                                          {"accuracy_low", w.low},
                                          {"accuracy_high", w.high}});
        }
    }
    for (size_t t = 0; t < targets.size(); ++t) {
        const auto & p = estimate.at_max_error[t];
        row["selective"].push_back({{"max_error", targets[t]},
                                    {"threshold", threshold_json(p.threshold)},
                                    {"coverage", interval(coverage_draws[t], p.coverage)},
                                    {"risk", p.risk},
                                    {"to_person", 1.0 - p.coverage}});
    }
    for (size_t t = 0; t < fixed_thresholds.size(); ++t) {
        const auto & p = estimate.at_threshold[t];
        row["fixed_threshold"].push_back({{"threshold", threshold_json(fixed_thresholds[t])},
                                          {"coverage", interval(fixed_coverage[t], p.coverage)},
                                          {"risk", interval(fixed_risk[t], p.risk)}});
    }
    if (priced) {
        const auto & cheapest = estimate.least_cost;
        row["review"] = {{"review_cost", options.review_cost},
                         {"threshold", threshold_json(cheapest.threshold)},
                         {"cost_per_1k", interval(cost_draws, 1000.0 * cost_per_item(cheapest, options.review_cost))},
                         {"review_share", cheapest.review_share},
                         {"rework_per_1k", 1000.0 * cheapest.rework_per_item},
                         {"all_alone_per_1k", 1000.0 * curve.back().rework_per_item},
                         {"all_reviewed_per_1k", 1000.0 * options.review_cost}};
    }
    return out;
}

double rework_of(const RunSample & s, const CalibrationOptions & options) {
    const auto it = options.error_costs.find(s.gold_text + "->" + s.pred_text);
    return it == options.error_costs.end() ? 1.0 : it->second;
}

std::string percent(double share) {
    return fmt::format("{:.0f}%", 100.0 * share);
}

// The recommendation's sentence for one model or recipe: one sentence, its
// clauses joined by semicolons.
std::string unit_sentence(const std::string & unit, const nlohmann::json & row, const nlohmann::json * seen_rule,
                          const CalibrationOptions & options, bool on_unseen) {
    const bool ja = options.lang == "ja";
    const auto & s = row["selective"][0];
    const auto & c = s["coverage"];
    const double target = s["max_error"].get<double>();
    const std::string where = on_unseen ? (ja ? "未見の組み合わせ" : "unseen combinations") : (ja ? "項目" : "items");
    std::string out;
    if (s["threshold"].is_null()) {
        out = ja ? fmt::format("{}: 誤り {} 以下を保てるしきい値はなく、{}の答えはすべて人の確認に回ります", unit,
                               percent(target), where)
                 : fmt::format("{}: no threshold keeps errors at or under {} on {}, so every answer goes to a person",
                               unit, percent(target), where);
    } else {
        const auto cov = fmt::format("{:.0f}% [{:.0f}, {:.0f}]", 100 * c["estimate"].get<double>(),
                                     100 * c["low"].get<double>(), 100 * c["high"].get<double>());
        out = ja ? fmt::format("{}: 誤り {} 以下なら、{}の {} を単独で答え、{} を人が確認します", unit, percent(target),
                               where, cov, percent(s["to_person"].get<double>()))
                 : fmt::format("{}: at <= {} errors it answers {} of {} alone ({} to a person)", unit, percent(target),
                               cov, where, percent(s["to_person"].get<double>()));
    }
    if (seen_rule != nullptr && !(*seen_rule)["threshold"].is_null()) {
        const auto & r = *seen_rule;
        out += ja ? fmt::format(
                        "。既見の組み合わせで決めたしきい値 ({:.6g}) では、未見の {} を単独で答え、その誤りは "
                        "{:.1f}% です",
                        r["threshold"].get<double>(), percent(r["coverage"]["estimate"].get<double>()),
                        100 * r["risk"]["estimate"].get<double>())
                  : fmt::format(
                        "; the threshold set on seen combinations ({:.6g}) lets {:.1f}% errors through on "
                        "unseen ones (answering {} alone)",
                        r["threshold"].get<double>(), 100 * r["risk"]["estimate"].get<double>(),
                        percent(r["coverage"]["estimate"].get<double>()));
    }
    if (row.contains("review")) {
        const auto & r = row["review"];
        const auto & cost = r["cost_per_1k"];
        out += ja ? fmt::format(
                        "。確認 1 件 {:.4g} では、最も安いしきい値で手戻りと確認が 1,000 件あたり {:.2f} [{:.2f}, "
                        "{:.2f}] (確認 {})",
                        options.review_cost, cost["estimate"].get<double>(), cost["low"].get<double>(),
                        cost["high"].get<double>(), percent(r["review_share"].get<double>()))
                  : fmt::format(
                        "; at {:.4g} per review the cheapest threshold costs {:.2f} [{:.2f}, {:.2f}] per 1k "
                        "items in rework and review ({} reviewed)",
                        options.review_cost, cost["estimate"].get<double>(), cost["low"].get<double>(),
                        cost["high"].get<double>(), percent(r["review_share"].get<double>()));
        if (r.contains("machine_per_1k")) {
            out += ja ? fmt::format("、計算機を含めて {:.2f}", r["total_per_1k"].get<double>())
                      : fmt::format(", {:.2f} with the machine", r["total_per_1k"].get<double>());
        }
    }
    return out + (ja ? "。" : ".");
}

std::string difference_verdict(const Interval & d, bool ja) {
    if (d.low > 0) {
        return ja ? fmt::format("未見の組み合わせで較正が悪化: ECE {:+.3f} [{:+.3f}, {:+.3f}]", d.estimate, d.low,
                                d.high)
                  : fmt::format("worse calibrated on unseen combinations: ECE {:+.3f} [{:+.3f}, {:+.3f}]", d.estimate,
                                d.low, d.high);
    }
    if (d.high < 0) {
        return ja ? fmt::format("未見の組み合わせで較正が改善: ECE {:+.3f} [{:+.3f}, {:+.3f}]", d.estimate, d.low,
                                d.high)
                  : fmt::format("better calibrated on unseen combinations: ECE {:+.3f} [{:+.3f}, {:+.3f}]", d.estimate,
                                d.low, d.high);
    }
    return ja ? fmt::format("較正の差は検出できません: ECE {:+.3f} [{:+.3f}, {:+.3f}]", d.estimate, d.low, d.high)
              : fmt::format("no detectable difference in calibration: ECE {:+.3f} [{:+.3f}, {:+.3f}]", d.estimate,
                            d.low, d.high);
}

BootstrapInterval draw_difference(const std::vector<double> & unseen, const std::vector<double> & seen, double estimate,
                                  const CalibrationOptions & options) {
    std::vector<double> d(unseen.size());
    for (size_t i = 0; i < d.size(); ++i) {
        d[i] = unseen[i] - seen[i];  // independent item sets: any pairing of the draws is a draw of the difference
    }
    return percentile_interval(std::move(d), estimate, options.iterations, options.seed, 0.95);
}

nlohmann::json seen_vs_unseen(const std::string & model, const std::string & task, const GroupStats & seen,
                              const GroupStats & unseen, const CalibrationOptions & options) {
    const double ece = unseen.row["ece"]["estimate"].get<double>() - seen.row["ece"]["estimate"].get<double>();
    const double brier = unseen.row["brier"]["estimate"].get<double>() - seen.row["brier"]["estimate"].get<double>();
    const auto ece_d = draw_difference(unseen.ece_draws, seen.ece_draws, ece, options);
    return {{"model", model},
            {"task", task},
            {"ece_seen", seen.row["ece"]["estimate"]},
            {"ece_unseen", unseen.row["ece"]["estimate"]},
            {"ece_difference", interval_json(ece_d)},
            {"brier_difference", interval_json(draw_difference(unseen.brier_draws, seen.brier_draws, brier, options))},
            {"overconfidence_seen", seen.row["overconfidence"]},
            {"overconfidence_unseen", unseen.row["overconfidence"]},
            {"verdict", difference_verdict(ece_d, options.lang == "ja")}};
}

// The machine's measured cost per 1k items beside rework and review (a
// recipe: its seeds' mean), where every one of its models was measured.
void add_machine_cost(const std::string & unit, nlohmann::json & row, const CalibrationOptions & options) {
    if (!row.contains("review") || options.machine_per_1k.empty()) {
        return;
    }
    const auto recipe = options.recipes.find(unit);
    const std::vector<std::string> members =
        recipe == options.recipes.end() ? std::vector<std::string>{unit} : recipe->second;
    double sum = 0;
    for (const auto & m : members) {
        const auto it = options.machine_per_1k.find(m);
        if (it == options.machine_per_1k.end()) {
            return;
        }
        sum += it->second;
    }
    const double machine = sum / static_cast<double>(members.size());
    row["review"]["machine_per_1k"] = machine;
    row["review"]["total_per_1k"] = row["review"]["cost_per_1k"]["estimate"].get<double>() + machine;
}

// The units by total cost at their cheapest thresholds, cheapest first: one
// sentence that weighs a small model with much review against a large one with little.
std::string cheapest_sentence(const std::vector<nlohmann::json> & rows, const std::string & task, bool name_task,
                              const CalibrationOptions & options) {
    std::vector<std::pair<double, const nlohmann::json *>> ranked;
    for (const auto & r : rows) {
        if (r.contains("review") && r["split"] != "seen" && r["task"] == task) {
            const auto & review = r["review"];
            ranked.emplace_back(review.contains("total_per_1k") ? review["total_per_1k"].get<double>()
                                                                : review["cost_per_1k"]["estimate"].get<double>(),
                                &r);
        }
    }
    if (ranked.size() < 2) {
        return "";
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto & a, const auto & b) { return a.first < b.first; });
    const bool ja = options.lang == "ja";
    const bool machine = (*ranked.front().second)["review"].contains("total_per_1k");
    const auto & best = *ranked.front().second;
    const auto & c = best["review"]["cost_per_1k"];
    const std::string model = best["model"].get<std::string>();
    const std::string cost = fmt::format("{:.2f} [{:.2f}, {:.2f}]", c["estimate"].get<double>(), c["low"].get<double>(),
                                         c["high"].get<double>());
    const std::string share = percent(best["review"]["review_share"].get<double>());
    std::string out = !name_task ? "" : ja ? task + ": " : "On " + task + ": ";
    if (ja) {
        out += fmt::format("手戻り{}と確認 (1 件 {:.4g}) の合計が最も安いのは {} で、", machine ? "、計算機" : "",
                           options.review_cost, model);
        out += machine
                   ? fmt::format("1,000 件あたり {:.2f} (手戻りと確認 {}、確認 {})", ranked.front().first, cost, share)
                   : fmt::format("1,000 件あたり {} (確認 {})", cost, share);
    } else {
        out += fmt::format("{}heapest in rework{} and review at {:.4g} per review: ", name_task ? "c" : "C",
                           machine ? ", machine" : "", options.review_cost);
        out += machine ? fmt::format("{} at {:.2f} per 1k items (rework and review {}, {} reviewed)", model,
                                     ranked.front().first, cost, share)
                       : fmt::format("{} at {} per 1k items ({} reviewed)", model, cost, share);
    }
    for (size_t i = 1; i < std::min<size_t>(ranked.size(), 3); ++i) {
        const auto & r = *ranked[i].second;
        out += ja ? fmt::format("、次いで {} {:.2f} (確認 {})", r["model"].get<std::string>(), ranked[i].first,
                                percent(r["review"]["review_share"].get<double>()))
                  : fmt::format("{} {} at {:.2f} ({} reviewed)", i == 1 ? "; then" : ",", r["model"].get<std::string>(),
                                ranked[i].first, percent(r["review"]["review_share"].get<double>()));
    }
    return out + (ja ? "。" : ".");
}

// A model or recipe on one task: seen and unseen (the seen threshold also
// tried on unseen combinations), or all its answers where the task has no
// unseen ones. Tasks are not pooled: a threshold is set per task, and tasks
// (and routes) differ in what a confidence means.
struct UnitRows {
    std::vector<nlohmann::json> rows;
    std::string sentence;
};

UnitRows analyze_unit(const std::string & unit, const std::string & task,
                      const std::map<std::string, AnswerGroup> & splits, bool compositional, bool name_task,
                      const CalibrationOptions & options, uint64_t seed) {
    UnitRows out;
    AnswerGroup all;
    if (!compositional) {
        for (const auto & entry : splits) {
            const auto & g = entry.second;
            const size_t offset = all.items.size();
            for (size_t a = 0; a < g.answers.size(); ++a) {
                all.answers.push_back(g.answers[a]);
                all.item.push_back(offset + g.item[a]);
            }
            for (const auto & [k, i] : g.items) {
                all.items.emplace(k, offset + i);  // keys are "split\x1fid": distinct across splits
            }
        }
    }
    std::vector<double> seen_thresholds;
    if (compositional && splits.contains("seen")) {
        auto seen = analyze(splits.at("seen"), options, seed);
        for (const auto & s : seen.row["selective"]) {
            seen_thresholds.push_back(s["threshold"].is_null() ? kKeepNothing : s["threshold"].get<double>());
        }
        nlohmann::json row = {{"model", unit}, {"task", task}, {"split", "seen"}};
        row.update(seen.row);
        out.rows.push_back(std::move(row));
    }
    const AnswerGroup * target = compositional ? (splits.contains("unseen") ? &splits.at("unseen") : nullptr) : &all;
    if (target == nullptr) {
        return out;
    }
    auto stats = analyze(*target, options, seed + 1, seen_thresholds);
    nlohmann::json row = {{"model", unit}, {"task", task}, {"split", compositional ? "unseen" : "all"}};
    row.update(stats.row);
    if (row.contains("fixed_threshold")) {
        row["seen_threshold"] = row["fixed_threshold"];
        row.erase("fixed_threshold");
    }
    add_machine_cost(unit, row, options);
    const nlohmann::json * rule = row.contains("seen_threshold") ? &row["seen_threshold"][0] : nullptr;
    const std::string name =
        name_task ? (options.lang == "ja" ? unit + " (" + task + ")" : unit + " on " + task) : unit;
    out.sentence = unit_sentence(name, row, rule, options, compositional);
    out.rows.push_back(std::move(row));
    return out;
}

}  // namespace

nlohmann::json calibration_section(const std::vector<RunSample> & samples, const CalibrationOptions & options) {
    nlohmann::json out = {
        {"method",
         {{"confidence", "the probability of the chosen answer, the choices' likelihoods normalized to sum to 1"},
          {"bins", kCalibrationBins},
          {"ece",
           "10 equal-width confidence bins over [0, 1]; ECE = sum over bins of (answers in bin / answers) x "
           "|accuracy - mean confidence|"},
          {"brier", "mean of (confidence - correct)^2 over answers"},
          {"intervals", "95% percentile bootstrap over items (an item's prompt variants and seeds together)"}}},
        {"max_errors", options.max_errors},
        {"tasks", nlohmann::json::array()},
        {"seen_vs_unseen", nlohmann::json::array()},
        {"models", nlohmann::json::array()},
        {"without_confidence", nlohmann::json::array()},
        {"sentences", nlohmann::json::array()}};
    if (options.review_cost >= 0) {
        out["review_cost"] = options.review_cost;
    }

    // Per model x task x split; answers without a confidence are counted, not guessed.
    std::map<std::tuple<std::string, std::string, std::string>, AnswerGroup> groups;
    std::map<std::pair<std::string, std::string>, std::pair<size_t, std::string>> without;  // (model, task) -> n, route
    std::map<std::string, std::string> recipe_of;
    for (const auto & [recipe, members] : options.recipes) {
        for (const auto & m : members) {
            recipe_of[m] = recipe;
        }
    }
    // (model or recipe, task) -> split -> answers, a recipe's seeds pooled
    std::map<std::pair<std::string, std::string>, std::map<std::string, AnswerGroup>> units;
    std::set<std::pair<std::string, std::string>> unit_has_unseen;
    std::set<std::string> tasks;
    for (const auto & s : samples) {
        if (std::isnan(s.confidence)) {
            auto & w = without[{s.model, s.task}];
            ++w.first;
            w.second = s.route;
            continue;
        }
        const double rework = rework_of(s, options);
        groups[{s.model, s.task, s.split}].add(s, s.id, rework);
        const auto r = recipe_of.find(s.model);
        const std::string unit = r == recipe_of.end() ? s.model : r->second;
        units[{unit, s.task}][s.split].add(s, s.split + "\x1f" + s.id, rework);
        tasks.insert(s.task);
        if (s.split == "unseen") {
            unit_has_unseen.insert({unit, s.task});
        }
    }
    for (const auto & [key, w] : without) {
        out["without_confidence"].push_back(
            {{"model", key.first}, {"task", key.second}, {"answers", w.first}, {"route", w.second}});
    }

    // Every group and unit has its own seed, so the numbers do not depend on the threads.
    std::vector<const decltype(groups)::value_type *> group_list;
    group_list.reserve(groups.size());
    for (const auto & g : groups) {
        group_list.push_back(&g);
    }
    std::vector<GroupStats> group_stats(group_list.size());
    parallel_for(group_list.size(), resolve_threads(0),
                 [&](size_t i) { group_stats[i] = analyze(group_list[i]->second, options, options.seed + i); });
    std::map<std::pair<std::string, std::string>, std::map<std::string, const GroupStats *>> by_model_task;
    for (size_t i = 0; i < group_list.size(); ++i) {
        const auto & [model, task, split] = group_list[i]->first;
        nlohmann::json row = {{"model", model}, {"task", task}, {"split", split}};
        row.update(group_stats[i].row);
        out["tasks"].push_back(std::move(row));
        by_model_task[{model, task}][split] = &group_stats[i];
    }
    for (const auto & [key, splits] : by_model_task) {
        if (splits.contains("seen") && splits.contains("unseen")) {
            out["seen_vs_unseen"].push_back(
                seen_vs_unseen(key.first, key.second, *splits.at("seen"), *splits.at("unseen"), options));
        }
    }

    std::vector<const decltype(units)::value_type *> unit_list;
    unit_list.reserve(units.size());
    for (const auto & u : units) {
        unit_list.push_back(&u);
    }
    std::vector<UnitRows> unit_rows(unit_list.size());
    parallel_for(unit_list.size(), resolve_threads(0), [&](size_t i) {
        const auto & [key, splits] = *unit_list[i];
        unit_rows[i] = analyze_unit(key.first, key.second, splits, unit_has_unseen.contains(key), tasks.size() > 1,
                                    options, options.seed + group_list.size() + 2 * i);
    });
    std::vector<nlohmann::json> rows;
    for (auto & u : unit_rows) {
        for (auto & row : u.rows) {
            rows.push_back(std::move(row));
        }
        if (!u.sentence.empty()) {
            out["sentences"].push_back(u.sentence);
        }
    }
    for (const auto & task : tasks) {
        if (const auto cheapest = cheapest_sentence(rows, task, tasks.size() > 1, options); !cheapest.empty()) {
            out["sentences"].push_back(cheapest);
        }
    }
    out["models"] = std::move(rows);
    return out;
}

}  // namespace compeval
