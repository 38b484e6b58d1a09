#include "analysis/compositional_split.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

namespace compeval {
namespace {

Distribution normalise(std::map<std::string, double> counts) {
    double total = 0.0;
    for (const auto & [k, v] : counts) {
        total += v;
    }
    for (auto & [k, v] : counts) {
        v /= total;
    }
    return counts;
}

std::vector<const AtomList *> pick(const std::vector<AtomList> & examples, const std::vector<size_t> & idx) {
    std::vector<const AtomList *> out;
    out.reserve(idx.size());
    for (size_t i : idx) {
        out.push_back(&examples[i]);
    }
    return out;
}

size_t unseen_test_atoms(const std::vector<AtomList> & examples, const std::vector<size_t> & train,
                         const std::vector<size_t> & test) {
    std::set<std::string> seen;
    for (size_t i : train) {
        seen.insert(examples[i].begin(), examples[i].end());
    }
    std::set<std::string> missing;
    for (size_t i : test) {
        for (const auto & a : examples[i]) {
            if (!seen.contains(a)) {
                missing.insert(a);
            }
        }
    }
    return missing.size();
}

}  // namespace

Distribution atom_distribution(const std::vector<const AtomList *> & examples) {
    std::map<std::string, double> counts;
    for (const auto * e : examples) {
        for (const auto & a : *e) {
            counts[a] += 1.0;
        }
    }
    return normalise(std::move(counts));
}

Distribution compound_distribution(const std::vector<const AtomList *> & examples) {
    std::map<std::string, double> counts;
    for (const auto * e : examples) {
        for (size_t i = 0; i < e->size(); ++i) {
            for (size_t j = i + 1; j < e->size(); ++j) {
                // Order-free: a compound is a set of atoms.
                const auto & a = std::min((*e)[i], (*e)[j]);
                const auto & b = std::max((*e)[i], (*e)[j]);
                std::string key = a;
                key += '+';
                key += b;
                counts[key] += 1.0;
            }
        }
    }
    return normalise(std::move(counts));
}

double chernoff_divergence(const Distribution & p, const Distribution & q, double alpha) {
    double c = 0.0;
    for (const auto & [k, pk] : p) {
        const auto it = q.find(k);
        if (it != q.end()) {
            c += std::pow(pk, alpha) * std::pow(it->second, 1.0 - alpha);
        }
    }
    return 1.0 - c;
}

SplitReport measure_split(const std::vector<AtomList> & examples, std::vector<size_t> train, std::vector<size_t> test) {
    SplitReport r;
    const auto v = pick(examples, train);
    const auto w = pick(examples, test);
    r.atom_divergence = chernoff_divergence(atom_distribution(v), atom_distribution(w), 0.5);
    r.compound_divergence = chernoff_divergence(compound_distribution(v), compound_distribution(w), 0.1);
    r.test_atoms_unseen = unseen_test_atoms(examples, train, test);
    r.train = std::move(train);
    r.test = std::move(test);
    return r;
}

SplitReport compositional_split(const std::vector<AtomList> & examples, const SplitOptions & options) {
    const size_t n = examples.size();
    const auto n_test = static_cast<size_t>(std::llround(options.test_fraction * static_cast<double>(n)));
    if (n_test == 0 || n_test >= n) {
        throw Error("a split needs at least one train and one test combination (" + std::to_string(n) +
                    " combinations, test fraction " + std::to_string(options.test_fraction) + ")");
    }
    std::mt19937_64 rng(options.seed);
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    // Draw random splits until every test atom is seen in train.
    SplitReport best;
    bool found = false;
    for (int attempt = 0; attempt < 200 && !found; ++attempt) {
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<size_t> test(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
        std::vector<size_t> train(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
        best = measure_split(examples, std::move(train), std::move(test));
        found = best.test_atoms_unseen == 0;
    }
    if (!found) {
        throw Error("no split keeps every test atom in train; lower the test fraction");
    }
    if (options.target_compound_divergence < 0.0) {
        return best;
    }
    const double target = options.target_compound_divergence;
    for (size_t step = 0; step < options.steps; ++step) {
        const size_t ti = rng() % best.train.size();
        const size_t wi = rng() % best.test.size();
        auto train = best.train;
        auto test = best.test;
        std::swap(train[ti], test[wi]);
        auto candidate = measure_split(examples, std::move(train), std::move(test));
        if (candidate.test_atoms_unseen == 0 &&
            std::abs(candidate.compound_divergence - target) < std::abs(best.compound_divergence - target)) {
            best = std::move(candidate);
        }
    }
    return best;
}

}  // namespace compeval
