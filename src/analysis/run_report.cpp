#include "analysis/run_report.hpp"

#include "analysis/ability_correlation.hpp"
#include "analysis/calibration_section.hpp"
#include "analysis/cost_analysis.hpp"
#include "analysis/findings.hpp"
#include "analysis/interval_json.hpp"
#include "analysis/observed_outcomes.hpp"
#include "analysis/quantization_drift.hpp"
#include "analysis/report_language.hpp"
#include "analysis/run_samples.hpp"
#include "analysis/scoring_methods.hpp"

#include "util/error.hpp"
#include "util/json_number.hpp"
#include "util/file_manifest.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>

namespace compeval {
namespace {

using Sample = RunSample;

nlohmann::json read_json_file(const std::string & path, bool required) {
    std::ifstream in(path);
    if (!in) {
        if (!required) {
            return nullptr;
        }
        throw Error(path + ": cannot open");
    }
    try {
        return nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception &) {
        throw Error(path + ": invalid JSON");
    }
}

std::map<std::string, ReportModel> read_models(const nlohmann::json & summary) {
    std::map<std::string, ReportModel> models;
    for (const auto & row : summary) {
        models[row.value("model", "")] = {row.value("family", ""),
                                          row.value("size", ""),
                                          row.value("variant", ""),
                                          row.value("group", ""),
                                          json_whole_or<int64_t>(row, "seed", -1, "summary.json"),
                                          row.value("n_params", 0.0),
                                          row.value("quant", ""),
                                          row.value("quantized_from", "")};
    }
    return models;
}

// The representational measures the second question correlates: each task's
// headline metric at the last layer (where the study finds composition).
std::map<std::string, std::map<std::string, double>> last_layer_measures(const nlohmann::json & summary) {
    static const std::map<std::string, std::vector<std::string>> headline = {
        {"compcomb", {"auc_farahmand", "spearman_reddy"}}, {"composition-fit", {"cos_ridge", "cos_additive"}}};
    std::map<std::string, std::pair<int, nlohmann::json>> last;  // model|task -> (layer, metrics)
    for (const auto & row : summary) {
        if (!row.contains("layer")) {
            continue;
        }
        const auto key = row.value("model", "") + "|" + row.value("task", "");
        const int layer = json_whole<int>(row.at("layer"), "summary.json layer");
        if (!last.contains(key) || layer > last[key].first) {
            last[key] = {layer, row.at("metrics")};
        }
    }
    std::map<std::string, std::map<std::string, double>> out;
    for (const auto & [key, lm] : last) {
        const auto model = key.substr(0, key.find('|'));
        const auto task = key.substr(key.find('|') + 1);
        const auto h = headline.find(task);
        for (const auto & [metric, value] : lm.second.items()) {
            if (h == headline.end() || std::find(h->second.begin(), h->second.end(), metric) != h->second.end()) {
                out[task + " " + metric + " (last layer)"][model] = value.is_number() ? value.get<double>() : NAN;
            }
        }
    }
    return out;
}

// Per-item correctness averaged over prompt variants (the paper averages over prompts).
std::map<std::string, double> item_scores(const std::vector<const Sample *> & samples) {
    std::map<std::string, std::pair<double, int>> sums;
    for (const auto * s : samples) {
        auto & [sum, count] = sums[s->split + "\x1f" + s->id];
        sum += s->correct ? 1.0 : 0.0;
        ++count;
    }
    std::map<std::string, double> out;
    for (const auto & [k, v] : sums) {
        out[k] = v.first / v.second;
    }
    return out;
}

// The seeds of one recipe are one point of an across-model correlation
// (their mean), not several nearly independent ones.
std::map<std::string, double> pooled_by_recipe(const std::map<std::string, double> & per_model,
                                               const std::map<std::string, std::vector<std::string>> & recipes) {
    std::map<std::string, double> out = per_model;
    for (const auto & [recipe, members] : recipes) {
        double sum = 0;
        int n = 0;
        for (const auto & m : members) {
            if (const auto it = out.find(m); it != out.end()) {
                sum += it->second;
                ++n;
                out.erase(it);
            }
        }
        if (n > 0) {
            out[recipe] = sum / n;
        }
    }
    return out;
}

}  // namespace

namespace {

RunReport read_report(const std::string & run_dir, const ReportOptions & options) {
    verify_export_manifest(run_dir);  // nothing cut short or changed is reported as whole
    RunReport report;
    report.samples = read_run_samples(run_dir, options.metric);
    const auto & samples = report.samples;
    const auto summary = read_json_file(run_dir + "/summary.json", true);
    const auto models = read_models(summary);
    auto & data = report.data;
    data["run"] = run_dir;
    data["metric"] = options.metric;
    data["bootstrap"] = {{"iterations", options.iterations}, {"seed", options.seed}, {"level", 0.95}};
    if (auto records = read_run_records(run_dir); !records.is_null()) {
        records["sentence"] = records_sentence(records, options.lang == "ja");
        data["records"] = std::move(records);
    }

    // Group samples by model x task.
    std::map<std::pair<std::string, std::string>, std::vector<const Sample *>> by_model_task;
    for (const auto & s : samples) {
        by_model_task[{s.model, s.task}].push_back(&s);
    }
    for (const auto & [key, group] : by_model_task) {
        const auto & [model, task] = key;
        // Accuracy per split x prompt variant, Wilson intervals.
        std::map<std::pair<std::string, std::string>, std::pair<uint64_t, uint64_t>> counts;
        // field -> value -> split -> (k, n)
        std::map<std::string, std::map<std::string, std::map<std::string, std::pair<uint64_t, uint64_t>>>> classes;
        std::map<std::string, std::map<std::string, uint64_t>> confusion;  // gold -> pred -> count
        double rework = 0.0;
        size_t separate = 0;
        for (const auto * s : group) {
            separate += s->separate_boundary ? 1 : 0;
            auto & c = counts[{s->split, s->variant}];
            c.first += s->correct ? 1 : 0;
            ++c.second;
            for (const auto & [field, value] : s->fields) {
                auto & cc = classes[field][value][s->split];
                cc.first += s->correct ? 1 : 0;
                ++cc.second;
            }
            ++confusion[s->gold_text][s->pred_text];
            if (!s->correct) {
                const auto cost = options.error_costs.find(s->gold_text + "->" + s->pred_text);
                rework += cost == options.error_costs.end() ? 1.0 : cost->second;
            }
        }
        nlohmann::json entry = {{"model", model}, {"task", task}, {"route", group.front()->route}};
        if (models.contains(model)) {
            const auto & m = models.at(model);
            entry["family"] = m.family;
            entry["size"] = m.size;
            entry["variant"] = m.variant;
            entry["n_params"] = m.n_params;
        }
        for (const auto & [sv, kn] : counts) {
            entry["accuracy"].push_back({{"split", sv.first},
                                         {"prompt", sv.second},
                                         {"n", kn.second},
                                         {"wilson", interval_json(wilson_interval(kn.first, kn.second))}});
        }
        // Per split, averaged over prompts, with an item bootstrap.
        std::map<std::string, std::vector<double>> split_items;
        for (const auto & [k, v] : item_scores(group)) {
            split_items[k.substr(0, k.find('\x1f'))].push_back(v);
        }
        for (const auto & [split, values] : split_items) {
            entry["accuracy_mean_over_prompts"].push_back(
                {{"split", split},
                 {"n", values.size()},
                 {"bootstrap", interval_json(bootstrap_mean(values, options.iterations, options.seed))}});
        }
        std::vector<double> all_values;
        for (const auto & [split, values] : split_items) {
            all_values.insert(all_values.end(), values.begin(), values.end());
        }
        entry["accuracy_overall"] = {
            {"n", all_values.size()},
            {"bootstrap", interval_json(bootstrap_mean(all_values, options.iterations, options.seed))}};
        if (split_items.contains("seen") && split_items.contains("unseen")) {
            const auto seen = bootstrap_mean(split_items["seen"], options.iterations, options.seed);
            const auto unseen = bootstrap_mean(split_items["unseen"], options.iterations, options.seed + 1);
            // Independent item sets: the gap's interval combines the two bootstrap spreads.
            const double half = std::hypot((seen.high - seen.low) / 2.0, (unseen.high - unseen.low) / 2.0);
            const double gap = seen.estimate - unseen.estimate;
            entry["seen_unseen_gap"] = {{"seen", seen.estimate},
                                        {"unseen", unseen.estimate},
                                        {"gap", gap},
                                        {"low", gap - half},
                                        {"high", gap + half}};
        }
        for (const auto & [field, values] : classes) {
            if (values.size() > 20) {
                continue;  // an identifier, not a class
            }
            for (const auto & [value, splits] : values) {
                for (const auto & [split, kn] : splits) {
                    entry["by_class"].push_back({{"field", field},
                                                 {"value", value},
                                                 {"split", split},
                                                 {"n", kn.second},
                                                 {"wilson", interval_json(wilson_interval(kn.first, kn.second))}});
                }
            }
        }
        // Human answer distributions (group_by tasks): per split, the mean
        // distance over items (each averaged over prompts), item bootstrap.
        std::map<std::string, std::map<std::string, std::pair<double, double>>> distances;  // split -> id -> (tv, js)
        std::map<std::string, std::map<std::string, int>> distance_counts;
        for (const auto * s : group) {
            if (!std::isnan(s->total_variation)) {
                auto & d = distances[s->split][s->id];
                d.first += s->total_variation;
                d.second += s->jensen_shannon;
                ++distance_counts[s->split][s->id];
            }
        }
        for (const auto & [split, items] : distances) {
            std::vector<double> tv;
            std::vector<double> js;
            for (const auto & [id, d] : items) {
                const double n = distance_counts[split][id];
                tv.push_back(d.first / n);
                js.push_back(d.second / n);
            }
            entry["distribution"].push_back(
                {{"split", split},
                 {"n", tv.size()},
                 {"total_variation", interval_json(bootstrap_mean(tv, options.iterations, options.seed))},
                 {"jensen_shannon", interval_json(bootstrap_mean(js, options.iterations, options.seed))}});
        }
        if (auto ceiling = noise_ceiling_rows(group); !ceiling.empty()) {
            entry["noise_ceiling"] = std::move(ceiling);
        }
        entry["confusion"] = confusion;
        entry["rework_per_item"] = rework / static_cast<double>(group.size());
        entry["answers"] = group.size();
        entry["boundary_separate"] = separate;
        data["tasks"].push_back(std::move(entry));
    }

    // Per model: answers whose continuation was tokenized on its own because a
    // token merged across the context boundary (tokenize_request).
    std::map<std::string, std::pair<size_t, size_t>> boundary;  // model -> (separate, answers)
    for (const auto & s : samples) {
        auto & b = boundary[s.model];
        b.first += s.separate_boundary ? 1 : 0;
        ++b.second;
    }
    data["token_boundary"] = nlohmann::json::array();
    for (const auto & [model, b] : boundary) {
        data["token_boundary"].push_back({{"model", model}, {"separate", b.first}, {"answers", b.second}});
    }

    // Findings (instruction tuning and scale, seeds of one recipe pooled)
    // and, where recipes have several seeds, their pooled accuracy.
    ModelTaskScores model_task_scores;
    for (const auto & [key, group] : by_model_task) {
        model_task_scores[key] = item_scores(group);
    }
    data["findings"] = compute_findings(models, model_task_scores, options.iterations, options.seed);
    data["answer_routes"] = answer_route_rates(samples);
    data["scoring_methods"] = scoring_method_comparison(samples, options.iterations, options.seed);
    data["instruction_tuning_by_route"] = instruction_tuning_by_route(data["findings"]);
    data["recipes"] = recipe_table(models, model_task_scores, options.iterations, options.seed);
    data["quantization"] = quantization_drift(samples, models);

    // Per model: every item, and the unseen-combination items where a task
    // has a seen/unseen split (else all its items count as compositional).
    std::map<std::string, ModelScores> scores;
    bool any_unseen = false;
    for (const auto & [key, group] : by_model_task) {
        auto & ms = scores[key.first];
        if (models.contains(key.first)) {
            ms.variant = models.at(key.first).variant;
            ms.family = models.at(key.first).family;
        }
        const auto & items = model_task_scores.at(key);
        const bool has_unseen = std::any_of(items.begin(), items.end(),
                                            [](const auto & kv) { return kv.first.rfind("unseen\x1f", 0) == 0; });
        any_unseen = any_unseen || has_unseen;
        for (const auto & [k, v] : items) {
            ms.all_items.push_back(v);
            if (!has_unseen || k.rfind("unseen\x1f", 0) == 0) {
                ms.compositional_items.push_back(v);
            }
        }
    }
    for (auto & [model, ms] : scores) {
        // Baseline per task, weighted by its samples: always giving the most
        // common gold answer (a label task's majority label), but never below
        // chance, 1/choices (ranking and minimal pairs, whose gold texts all
        // differ and whose gold position says nothing).
        double hits = 0;
        double n = 0;
        for (const auto & [key, group] : by_model_task) {
            if (key.first != model) {
                continue;
            }
            std::map<std::string, double> freq;
            double chance = 0;
            for (const auto * s : group) {
                ++freq[s->gold_text];
                chance += s->n_choices > 0 ? 1.0 / static_cast<double>(s->n_choices) : 0.0;
            }
            const double majority = std::max_element(freq.begin(), freq.end(), [](const auto & a, const auto & b) {
                                        return a.second < b.second;
                                    })->second;
            hits += std::max(majority, chance);
            n += static_cast<double>(group.size());
        }
        ms.baseline = n > 0 ? hits / n : 0.5;
    }
    std::map<std::string, double> performance;
    std::map<std::string, std::map<std::string, double>> measures = last_layer_measures(summary);
    for (const auto & [model, ms] : scores) {
        performance[model] =
            std::accumulate(ms.all_items.begin(), ms.all_items.end(), 0.0) / static_cast<double>(ms.all_items.size());
        if (any_unseen) {
            measures["unseen-combination accuracy"][model] =
                std::accumulate(ms.compositional_items.begin(), ms.compositional_items.end(), 0.0) /
                static_cast<double>(ms.compositional_items.size());
        }
    }
    const auto recipes = multi_seed_recipes(models);
    for (auto & [measure, values] : measures) {
        values = pooled_by_recipe(values, recipes);
    }
    data["ability_correlation"] = ability_correlation(pooled_by_recipe(performance, recipes), measures);
    data["cost"] = cost_section(read_json_file(run_dir + "/cost.json", false), scores, data["findings"],
                                {options.price_per_hour, options.iterations, options.seed, recipes});
    std::map<std::string, double> machine_per_1k;  // in the review's currency only when priced per hour
    if (options.price_per_hour > 0) {
        for (const auto & m : data["cost"]["models"]) {
            if (m.value("measured", false)) {
                machine_per_1k[m["model"].get<std::string>()] = m["cost_per_1k_items"].get<double>();
            }
        }
    }
    data["calibration"] =
        calibration_section(samples, {options.max_errors, options.review_cost, options.error_costs, options.iterations,
                                      options.seed, recipes, options.lang, machine_per_1k});
    data["cost"]["recommendation"]["risk"] = data["calibration"]["sentences"];

    // Per-layer curves, for the charts.
    data["layers"] = nlohmann::json::array();
    for (const auto & row : summary) {
        if (row.contains("layer")) {
            for (const auto & [metric, value] : row.at("metrics").items()) {
                data["layers"].push_back({{"model", row.value("model", "")},
                                          {"task", row.value("task", "")},
                                          {"layer", row.at("layer")},
                                          {"metric", metric},
                                          {"value", value}});
            }
        }
    }
    set_report_language(data, options.lang);
    return report;
}

}  // namespace

// summary.json and cost.json are read with checked accessors: a field of the
// wrong shape (a file edited by hand, damaged, or from another program) ends
// in one line naming the run, never a crash or a silent default.
RunReport build_report(const std::string & run_dir, const ReportOptions & options) {
    check_report_language(options.lang);
    if (options.max_errors.empty() ||
        std::any_of(options.max_errors.begin(), options.max_errors.end(), [](double e) { return !(e > 0 && e < 1); })) {
        throw Error("the target error rates (--max-error) must be between 0 and 1");
    }
    try {
        return read_report(run_dir, options);
    } catch (const nlohmann::json::exception & e) {
        throw Error(run_dir + ": summary.json or cost.json is malformed (" + e.what() + ")");
    }
}

}  // namespace compeval
