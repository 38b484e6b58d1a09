#pragma once
// Compositional splits (Keysers et al. 2020, "Measuring Compositional
// Generalization", the MCD method): test combinations never occur in training
// (or few-shot) data while every test atom does, with the atom divergence D_A
// and compound divergence D_C of the split reported and steerable.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace compeval {

// One example as its atoms (e.g. "material=steel"). Its compounds are every
// pair of its atoms.
using AtomList = std::vector<std::string>;

using Distribution = std::map<std::string, double>;  // normalised frequencies

// The definition of the distributions measure_split compares (tests hold it to them).
Distribution atom_distribution(const std::vector<const AtomList *> & examples);
Distribution compound_distribution(const std::vector<const AtomList *> & examples);

// 1 - C_alpha(P || Q), with the Chernoff coefficient C_alpha = sum_k p_k^alpha q_k^(1-alpha).
double chernoff_divergence(const Distribution & p, const Distribution & q, double alpha);

struct SplitReport {
    std::vector<size_t> train;  // indices into the examples
    std::vector<size_t> test;
    double atom_divergence = 0.0;      // D_A, alpha = 0.5
    double compound_divergence = 0.0;  // D_C, alpha = 0.1
    size_t test_atoms_unseen = 0;      // test atoms absent from train (0 for a valid split)
};

// Divergences of a given split (train = V, test = W in the paper's notation).
SplitReport measure_split(const std::vector<AtomList> & examples, std::vector<size_t> train, std::vector<size_t> test);

struct SplitOptions {
    double test_fraction = 0.3;
    double target_compound_divergence = -1.0;  // < 0: a plain random split of combinations
    uint64_t seed = 1;
    size_t steps = 4000;  // swap attempts when steering D_C
};

// A split of whole examples (combinations): every test atom occurs in train.
// With a target, random train/test swaps are accepted while they bring D_C
// closer to the target and keep every test atom in train.
SplitReport compositional_split(const std::vector<AtomList> & examples, const SplitOptions & options);

}  // namespace compeval
