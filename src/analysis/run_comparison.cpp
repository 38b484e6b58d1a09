#include "analysis/run_comparison.hpp"

#include "analysis/run_samples.hpp"

#include "util/error.hpp"
#include "util/file_manifest.hpp"

#include <map>
#include <set>

namespace compeval {
namespace {

struct Sample {
    std::string model;
    std::string group;
    bool correct = false;
};

// Keyed by model, task, split, item and prompt variant.
std::map<std::string, Sample> read_samples(const std::string & run, const std::string & metric) {
    std::map<std::string, Sample> out;
    for (const auto & r : read_run_samples(run, metric)) {
        // One group per prompt variant: the same item under two prompts is not
        // an independent pair, so variants are compared separately.
        Sample s{r.model, r.task + " / " + r.split + " / " + r.variant, r.correct};
        out[r.model + "\x1f" + s.group + "\x1f" + r.id] = s;
    }
    return out;
}

}  // namespace

std::vector<PairedComparison> compare_runs(const std::string & run_a, const std::string & run_b,
                                           const std::string & metric, int iterations, uint64_t seed) {
    verify_export_manifest(run_a);
    verify_export_manifest(run_b);
    const auto a = read_samples(run_a, metric);
    auto b = read_samples(run_b, metric);
    std::set<std::string> models_a;
    std::set<std::string> models_b;
    for (const auto & [k, s] : a) {
        models_a.insert(s.model);
    }
    for (const auto & [k, s] : b) {
        models_b.insert(s.model);
    }
    // Two runs of different single models pair item by item; runs that share
    // model names pair per model.
    const bool by_model = models_a == models_b;
    auto strip_model = [](const std::string & key) { return key.substr(key.find('\x1f')); };
    std::map<std::string, Sample> b_by_key;
    for (auto & [k, s] : b) {
        b_by_key[by_model ? k : strip_model(k)] = s;
    }
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> groups;
    for (const auto & [k, s] : a) {
        const auto it = b_by_key.find(by_model ? k : strip_model(k));
        if (it == b_by_key.end()) {
            continue;
        }
        const std::string group = by_model ? s.model + ": " + s.group : s.group;
        groups[group].first.push_back(s.correct ? 1.0 : 0.0);
        groups[group].second.push_back(it->second.correct ? 1.0 : 0.0);
    }
    if (groups.empty()) {
        throw Error("runs " + run_a + " and " + run_b + " share no items");
    }
    std::vector<PairedComparison> out;
    std::vector<double> p_values;
    for (const auto & [group, pair] : groups) {
        PairedComparison c;
        c.group = group;
        c.n = pair.first.size();
        for (size_t i = 0; i < c.n; ++i) {
            c.acc_a += pair.first[i];
            c.acc_b += pair.second[i];
            c.only_a += pair.first[i] > pair.second[i] ? 1 : 0;
            c.only_b += pair.second[i] > pair.first[i] ? 1 : 0;
        }
        c.acc_a /= static_cast<double>(c.n);
        c.acc_b /= static_cast<double>(c.n);
        c.difference = paired_bootstrap_difference(pair.first, pair.second, iterations, seed);
        c.p_mcnemar = mcnemar_exact_p(c.only_a, c.only_b);
        c.mde = minimum_detectable_effect(c.n, c.acc_b);
        p_values.push_back(c.p_mcnemar);
        out.push_back(c);
    }
    const auto holm = holm_adjust(p_values);
    for (size_t i = 0; i < out.size(); ++i) {
        out[i].p_holm = holm[i];
    }
    return out;
}

}  // namespace compeval
