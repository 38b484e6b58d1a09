#include "analysis/findings.hpp"

#include "analysis/replicate_statistics.hpp"
#include "analysis/statistics.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

namespace compeval {
namespace {

struct Recipe {
    std::string name;
    std::string family;
    std::string size;
    std::string variant;
    double n_params = 0;
    std::string quant;
    std::vector<std::string> members;  // by seed, then name
    std::vector<int64_t> seeds;
    std::vector<std::string> sources;  // quantized recipes: each member's source model ("" = none)
};

std::vector<Recipe> recipes_of(const std::map<std::string, ReportModel> & models) {
    std::map<std::pair<std::string, std::string>, std::vector<std::string>> grouped;
    for (const auto & [name, m] : models) {
        grouped[{m.family, m.group.empty() ? name : m.group}].push_back(name);
    }
    std::vector<Recipe> out;
    for (auto & [key, members] : grouped) {
        std::sort(members.begin(), members.end(), [&](const auto & l, const auto & r) {
            return std::pair{models.at(l).seed, l} < std::pair{models.at(r).seed, r};
        });
        const auto & first = models.at(members.front());
        Recipe r{key.second, key.first, first.size, first.variant, first.n_params, first.quant, members, {}, {}};
        for (const auto & m : members) {
            r.seeds.push_back(models.at(m).seed);
            const auto & source = models.at(m).quantized_from;
            r.sources.push_back(models.contains(source) ? source : "");
        }
        out.push_back(std::move(r));
    }
    return out;
}

bool in_split(const std::string & key, const std::string & split) {
    return split.empty() || key.rfind(split + "\x1f", 0) == 0;
}

// Items every seed of every recipe answered on `task`, within `split` ("" = all).
std::vector<std::string> common_items(const std::vector<const Recipe *> & recipes, const ModelTaskScores & scores,
                                      const std::string & task, const std::string & split) {
    std::vector<std::string> items;
    bool first = true;
    for (const auto * r : recipes) {
        for (const auto & m : r->members) {
            const auto it = scores.find({m, task});
            if (it == scores.end()) {
                return {};
            }
            if (first) {
                for (const auto & entry : it->second) {
                    if (in_split(entry.first, split)) {
                        items.push_back(entry.first);
                    }
                }
                first = false;
            } else {
                std::erase_if(items, [&](const std::string & k) { return !it->second.contains(k); });
            }
        }
    }
    return items;
}

Replicates replicates(const Recipe & r, const ModelTaskScores & scores, const std::string & task,
                      const std::vector<std::string> & items) {
    Replicates out;
    for (const auto & m : r.members) {
        const auto & s = scores.at({m, task});
        std::vector<double> v;
        v.reserve(items.size());
        for (const auto & k : items) {
            v.push_back(s.at(k));
        }
        out.push_back(std::move(v));
    }
    return out;
}

bool has_task(const Recipe & r, const ModelTaskScores & scores, const std::string & task) {
    return std::all_of(r.members.begin(), r.members.end(), [&](const auto & m) { return scores.contains({m, task}); });
}

// An instruct seed is paired with the base seed it was tuned from: the same
// seed numbers (one model each is trivially paired).
bool seeds_paired(const Recipe & a, const Recipe & b) {
    if (a.members.size() == 1 && b.members.size() == 1) {
        return true;
    }
    return a.seeds == b.seeds && std::all_of(a.seeds.begin(), a.seeds.end(), [](int64_t s) { return s >= 0; });
}

std::string verdict(const std::string & what, double effect, double low, double high, double p, size_t n, double mde,
                    const char * unit) {
    if (p < 0.05 && (low > 0.0 || high < 0.0)) {
        return fmt::format("{} {}: {:+.3f}{} [{:+.3f}, {:+.3f}]", what, effect > 0 ? "helps" : "hurts", effect, unit,
                           low, high);
    }
    return fmt::format("no detectable effect of {} at n={}: {:+.3f}{} [{:+.3f}, {:+.3f}], MDE {:.3f}", what, n, effect,
                       unit, low, high, mde);
}

class FindingsBuilder {
  public:
    FindingsBuilder(const ModelTaskScores & scores, int iterations, uint64_t seed)
        : scores_(scores), iterations_(iterations), seed_(seed) {}

    void instruction_tuning(const Recipe & tuned, const Recipe & base, const std::string & task,
                            const std::string & split) {
        const auto items = common_items({&tuned, &base}, scores_, task, split);
        if (items.empty()) {
            return;
        }
        const auto a = replicates(tuned, scores_, task, items);
        const auto b = replicates(base, scores_, task, items);
        const bool paired = seeds_paired(tuned, base);
        const auto d = replicated_difference(a, b, paired, iterations_, seed_);
        add(tuned, base, task, split, "instruction tuning", items.size(), d.estimate, d.low, d.high, d.p_value,
            minimum_detectable_effect(items.size(), replicated_mean(b)));
    }

    // `source` lists, member by member, the model each of `quantized`'s
    // members was quantized from: the pairs are exact, seed by seed.
    void quantization(const Recipe & quantized, const Recipe & source, const std::string & task,
                      const std::string & split) {
        const auto items = common_items({&quantized, &source}, scores_, task, split);
        if (items.empty()) {
            return;
        }
        const auto a = replicates(quantized, scores_, task, items);
        const auto b = replicates(source, scores_, task, items);
        const auto d = replicated_difference(a, b, true, iterations_, seed_);
        // McNemar over every (seed, item) pair: a right where b is wrong and
        // the reverse (with several prompts, more or fewer prompts right).
        uint64_t a_only = 0;
        uint64_t b_only = 0;
        for (size_t r = 0; r < a.size(); ++r) {
            for (size_t i = 0; i < items.size(); ++i) {
                a_only += a[r][i] > b[r][i] ? 1 : 0;
                b_only += a[r][i] < b[r][i] ? 1 : 0;
            }
        }
        add(quantized, source, task, split, "quantization", items.size(), d.estimate, d.low, d.high, d.p_value,
            minimum_detectable_effect(items.size(), replicated_mean(b)));
        auto & f = findings_.back();
        f["a_only"] = a_only;
        f["b_only"] = b_only;
        f["p_mcnemar"] = mcnemar_exact_p(a_only, b_only);
    }

    void scale(const std::vector<const Recipe *> & bases, const std::string & task, const std::string & split) {
        const auto items = common_items(bases, scores_, task, split);
        if (items.empty()) {
            return;
        }
        std::vector<double> x;
        std::vector<Replicates> series;
        for (const auto * r : bases) {
            x.push_back(std::log10(r->n_params));
            series.push_back(replicates(*r, scores_, task, items));
        }
        const auto s = replicated_scaling_slope(x, series, iterations_, seed_);
        const auto & smallest = *bases.front();
        const auto & largest = *bases.back();
        add(largest, smallest, task, split, "scale", items.size(), s.slope, s.low, s.high, s.p_value,
            minimum_detectable_effect(items.size(), 0.5));
        if (bases.size() >= 3) {
            // The series' ends, apart from the line through it.
            const auto d = replicated_difference(series.back(), series.front(), false, iterations_, seed_);
            add(largest, smallest, task, split, "scale (largest vs smallest)", items.size(), d.estimate, d.low, d.high,
                d.p_value, minimum_detectable_effect(items.size(), replicated_mean(series.front())));
        }
    }

    nlohmann::json finish() {
        std::vector<double> p;
        for (const auto & f : findings_) {
            p.push_back(f["p"].get<double>());
        }
        const auto holm = holm_adjust(p);
        for (size_t i = 0; i < findings_.size(); ++i) {
            auto & f = findings_[i];
            f["p_holm"] = holm[i];
            const std::string comparison = f["comparison"];
            const bool slope = comparison == "scale";
            const std::string what = comparison == "scale (largest vs smallest)" ? "scale" : comparison;
            f["verdict"] = verdict(what, f["effect"], f["low"], f["high"], f["p_holm"], f["n"], f["mde"],
                                   slope ? " per 10x params" : "");
        }
        return findings_;
    }

  private:
    void add(const Recipe & a, const Recipe & b, const std::string & task, const std::string & split,
             const char * comparison, size_t n, double effect, double low, double high, double p, double mde) {
        findings_.push_back({{"family", a.family},
                             {"task", task},
                             {"split", split.empty() ? "all" : split},
                             {"comparison", comparison},
                             {"a", a.name},
                             {"b", b.name},
                             {"seeds_a", a.members.size()},
                             {"seeds_b", b.members.size()},
                             {"quant", a.quant},
                             {"n", n},
                             {"effect", effect},
                             {"low", low},
                             {"high", high},
                             {"p", p},
                             {"mde", mde}});
    }

    const ModelTaskScores & scores_;
    int iterations_;
    uint64_t seed_;
    nlohmann::json findings_ = nlohmann::json::array();
};

std::set<std::string> tasks_of(const ModelTaskScores & scores) {
    std::set<std::string> out;
    for (const auto & entry : scores) {
        out.insert(entry.first.second);
    }
    return out;
}

// "" (all items), plus "unseen" where the task has seen and unseen combinations.
std::vector<std::string> finding_splits(const ModelTaskScores & scores, const std::string & task) {
    bool seen = false;
    bool unseen = false;
    for (const auto & [key, items] : scores) {
        if (key.second == task) {
            for (const auto & entry : items) {
                seen = seen || in_split(entry.first, "seen");
                unseen = unseen || in_split(entry.first, "unseen");
            }
        }
    }
    if (seen && unseen) {
        return {"", "unseen"};
    }
    return {""};
}

}  // namespace

nlohmann::json compute_findings(const std::map<std::string, ReportModel> & models, const ModelTaskScores & scores,
                                int iterations, uint64_t seed) {
    const auto recipes = recipes_of(models);
    // Scale and instruction tuning compare models of one weight type.
    std::map<std::pair<std::string, std::string>, std::vector<const Recipe *>> families;
    for (const auto & r : recipes) {
        families[{r.family, r.quant}].push_back(&r);
    }
    // Source recipes, member by member, for each quantized recipe whose
    // members all name a source model of the run.
    std::vector<std::pair<const Recipe *, Recipe>> quantized;
    for (const auto & r : recipes) {
        if (r.quant.empty() ||
            std::any_of(r.sources.begin(), r.sources.end(), [](const auto & s) { return s.empty(); })) {
            continue;
        }
        const auto & first = models.at(r.sources.front());
        const std::string name = first.group.empty() ? r.sources.front() : first.group;
        Recipe source{name, first.family, first.size, first.variant, first.n_params, first.quant, r.sources, {}, {}};
        for (const auto & m : r.sources) {
            source.seeds.push_back(models.at(m).seed);
        }
        quantized.emplace_back(&r, std::move(source));
    }
    FindingsBuilder builder(scores, iterations, seed);
    for (const auto & task : tasks_of(scores)) {
        for (const auto & split : finding_splits(scores, task)) {
            for (const auto & [q, source] : quantized) {
                if (has_task(*q, scores, task) && has_task(source, scores, task)) {
                    builder.quantization(*q, source, task, split);
                }
            }
            for (const auto & [key, members] : families) {
                std::vector<const Recipe *> bases;
                for (const auto * base : members) {
                    if (base->variant != "base" || !has_task(*base, scores, task)) {
                        continue;
                    }
                    bases.push_back(base);
                    for (const auto * tuned : members) {
                        if (tuned->variant == "instruct" && tuned->size == base->size &&
                            has_task(*tuned, scores, task)) {
                            builder.instruction_tuning(*tuned, *base, task, split);
                        }
                    }
                }
                // Smallest first, so a finding reads "largest vs smallest".
                std::stable_sort(bases.begin(), bases.end(),
                                 [](const auto * l, const auto * r) { return l->n_params < r->n_params; });
                std::set<double> sizes;
                for (const auto * b : bases) {
                    sizes.insert(b->n_params);
                }
                if (sizes.size() >= 2) {
                    builder.scale(bases, task, split);
                }
            }
        }
    }
    return builder.finish();
}

std::map<std::string, std::vector<std::string>> multi_seed_recipes(const std::map<std::string, ReportModel> & models) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto & r : recipes_of(models)) {
        if (r.members.size() > 1) {
            out[r.name] = r.members;
        }
    }
    return out;
}

nlohmann::json recipe_table(const std::map<std::string, ReportModel> & models, const ModelTaskScores & scores,
                            int iterations, uint64_t seed) {
    const auto recipes = recipes_of(models);
    nlohmann::json rows = nlohmann::json::array();
    if (std::none_of(recipes.begin(), recipes.end(), [](const auto & r) { return r.members.size() > 1; })) {
        return rows;
    }
    for (const auto & task : tasks_of(scores)) {
        for (const auto & r : recipes) {
            if (!has_task(r, scores, task)) {
                continue;
            }
            std::set<std::string> splits;
            for (const auto & entry : scores.at({r.members.front(), task})) {
                splits.insert(entry.first.substr(0, entry.first.find('\x1f')));
            }
            for (const auto & split : splits) {
                const auto items = common_items({&r}, scores, task, split);
                if (items.empty()) {
                    continue;
                }
                const auto reps = replicates(r, scores, task, items);
                const auto interval = replicated_mean_interval(reps, iterations, seed);
                nlohmann::json per_seed = nlohmann::json::array();
                for (const auto & seed_scores : reps) {
                    per_seed.push_back(replicated_mean({seed_scores}));
                }
                rows.push_back(
                    {{"recipe", r.name},
                     {"family", r.family},
                     {"size", r.size},
                     {"variant", r.variant},
                     {"quant", r.quant},
                     {"n_params", r.n_params},
                     {"task", task},
                     {"split", split},
                     {"models", r.members},
                     {"seeds", r.seeds},
                     {"n", items.size()},
                     {"accuracy", {{"estimate", interval.estimate}, {"low", interval.low}, {"high", interval.high}}},
                     {"per_seed", per_seed}});
            }
        }
    }
    return rows;
}

}  // namespace compeval
