#include "analysis/compositional_split.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

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

// A compound is a set of atoms: the same key whichever order they come in.
std::string compound_key(const std::string & x, const std::string & y) {
    return std::min(x, y) + '+' + std::max(x, y);
}

// Ids numbered in the order of the names, for every name in `lists`.
std::map<std::string, uint32_t> ids_in_name_order(const std::vector<std::vector<std::string>> & lists) {
    std::map<std::string, uint32_t> ids;
    for (const auto & list : lists) {
        for (const auto & name : list) {
            ids.emplace(name, 0);
        }
    }
    uint32_t next = 0;
    for (auto & [name, id] : ids) {
        id = next++;
    }
    return ids;
}

// The examples' atoms and compounds as ids, counted into arrays: steering a
// split measures thousands of candidate splits, and counting names in maps
// made that most of a pilot's set-up. The ids follow the names' order, so a
// sum over ids adds in the order a name-keyed map would: the divergences are
// those of atom_distribution / compound_distribution to the last bit.
class SplitMeasure {
  public:
    explicit SplitMeasure(const std::vector<AtomList> & examples) {
        std::vector<std::vector<std::string>> compounds(examples.size());
        for (size_t e = 0; e < examples.size(); ++e) {
            const auto & atoms = examples[e];
            for (size_t i = 0; i < atoms.size(); ++i) {
                for (size_t j = i + 1; j < atoms.size(); ++j) {
                    compounds[e].push_back(compound_key(atoms[i], atoms[j]));
                }
            }
        }
        atoms_ = as_ids(examples, n_atoms_);
        compounds_ = as_ids(compounds, n_compounds_);
    }

    SplitReport measure(std::vector<size_t> train, std::vector<size_t> test) const {
        SplitReport r;
        r.atom_divergence = divergence(count(atoms_, n_atoms_, train), count(atoms_, n_atoms_, test), 0.5);
        r.compound_divergence =
            divergence(count(compounds_, n_compounds_, train), count(compounds_, n_compounds_, test), 0.1);
        r.test_atoms_unseen = unseen_test_atoms(train, test);
        r.train = std::move(train);
        r.test = std::move(test);
        return r;
    }

  private:
    static std::vector<std::vector<uint32_t>> as_ids(const std::vector<std::vector<std::string>> & lists,
                                                     size_t & n_ids) {
        const auto ids = ids_in_name_order(lists);
        n_ids = ids.size();
        std::vector<std::vector<uint32_t>> out(lists.size());
        for (size_t e = 0; e < lists.size(); ++e) {
            for (const auto & name : lists[e]) {
                out[e].push_back(ids.at(name));
            }
        }
        return out;
    }

    static std::vector<double> count(const std::vector<std::vector<uint32_t>> & lists, size_t n_ids,
                                     const std::vector<size_t> & examples) {
        std::vector<double> counts(n_ids, 0.0);
        for (size_t e : examples) {
            for (uint32_t id : lists[e]) {
                counts[id] += 1.0;
            }
        }
        return counts;
    }

    // chernoff_divergence of the two counts normalised (whole-number sums
    // are exact in any order).
    static double divergence(const std::vector<double> & p, const std::vector<double> & q, double alpha) {
        const double p_total = std::accumulate(p.begin(), p.end(), 0.0);
        const double q_total = std::accumulate(q.begin(), q.end(), 0.0);
        double c = 0.0;
        for (size_t k = 0; k < p.size(); ++k) {
            if (p[k] > 0.0 && q[k] > 0.0) {
                c += std::pow(p[k] / p_total, alpha) * std::pow(q[k] / q_total, 1.0 - alpha);
            }
        }
        return 1.0 - c;
    }

    size_t unseen_test_atoms(const std::vector<size_t> & train, const std::vector<size_t> & test) const {
        std::vector<char> seen(n_atoms_, 0);
        for (size_t e : train) {
            for (uint32_t id : atoms_[e]) {
                seen[id] = 1;
            }
        }
        std::vector<char> missing(n_atoms_, 0);
        for (size_t e : test) {
            for (uint32_t id : atoms_[e]) {
                missing[id] = seen[id] == 0 ? 1 : 0;
            }
        }
        return static_cast<size_t>(std::count(missing.begin(), missing.end(), 1));
    }

    std::vector<std::vector<uint32_t>> atoms_;
    std::vector<std::vector<uint32_t>> compounds_;
    size_t n_atoms_ = 0;
    size_t n_compounds_ = 0;
};

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
                counts[compound_key((*e)[i], (*e)[j])] += 1.0;
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
    return SplitMeasure(examples).measure(std::move(train), std::move(test));
}

namespace {

// Train and test: up to `n_test` examples move, in `order`, to test while
// every atom of theirs keeps an occurrence in train.
std::pair<std::vector<size_t>, std::vector<size_t>> greedy_split(const std::vector<AtomList> & examples,
                                                                 const std::vector<size_t> & order, size_t n_test) {
    std::map<std::string, size_t> in_train;
    for (const auto & e : examples) {
        for (const auto & a : e) {
            ++in_train[a];
        }
    }
    std::vector<char> is_test(examples.size(), 0);
    size_t moved = 0;
    for (const size_t i : order) {
        if (moved == n_test) {
            break;
        }
        const auto & atoms = examples[i];
        if (std::all_of(atoms.begin(), atoms.end(), [&](const std::string & a) { return in_train[a] >= 2; })) {
            for (const auto & a : atoms) {
                --in_train[a];
            }
            is_test[i] = 1;
            ++moved;
        }
    }
    std::vector<size_t> train;
    std::vector<size_t> test;
    for (size_t i = 0; i < examples.size(); ++i) {
        (is_test[i] == 0 ? train : test).push_back(i);
    }
    return {train, test};
}

}  // namespace

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
    const SplitMeasure measure(examples);
    // Draw random splits until every test atom is seen in train.
    SplitReport best;
    bool found = false;
    for (int attempt = 0; attempt < 200 && !found; ++attempt) {
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<size_t> test(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_test));
        std::vector<size_t> train(order.begin() + static_cast<std::ptrdiff_t>(n_test), order.end());
        best = measure.measure(std::move(train), std::move(test));
        found = best.test_atoms_unseen == 0;
    }
    if (!found) {
        // Sparse combinations (a log that made only some of them) rarely
        // draw a valid split at random: build one instead, taking combinations
        // in random order into test while each of their atoms stays in train.
        auto [train, test] = greedy_split(examples, order, n_test);
        if (test.size() < n_test) {
            throw Error("no split keeps every test atom in train with " + std::to_string(n_test) + " of " +
                        std::to_string(n) + " combinations in test (at most " + std::to_string(test.size()) +
                        "); lower the test fraction");
        }
        best = measure.measure(std::move(train), std::move(test));
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
        auto candidate = measure.measure(std::move(train), std::move(test));
        if (candidate.test_atoms_unseen == 0 &&
            std::abs(candidate.compound_divergence - target) < std::abs(best.compound_divergence - target)) {
            best = std::move(candidate);
        }
    }
    return best;
}

}  // namespace compeval
