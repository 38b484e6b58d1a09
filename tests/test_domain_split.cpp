#include "analysis/compositional_split.hpp"
#include "domains/domain_build.hpp"
#include "tasks/task_runner.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <set>

namespace compeval {
namespace {

TEST(CompositionalSplit, DivergencesMatchAHandComputationOnAToyCase) {
    const std::vector<AtomList> examples = {{"a=1", "b=1"}, {"a=1", "b=2"}, {"a=2", "b=1"}};
    const auto r = measure_split(examples, {0, 1}, {2});
    // Train atoms a=1: 2/4, b=1: 1/4, b=2: 1/4; test atoms a=2: 1/2, b=1: 1/2.
    // C_0.5 = sqrt(1/4 * 1/2) (only b=1 is shared) -> D_A = 1 - 0.353553...
    EXPECT_NEAR(r.atom_divergence, 1.0 - std::sqrt(0.125), 1e-12);
    // No compound is shared: D_C = 1.
    EXPECT_DOUBLE_EQ(r.compound_divergence, 1.0);
    EXPECT_EQ(r.test_atoms_unseen, 1U);  // a=2 never occurs in train
    // alpha = 0.1 weights the test side: C = p^0.1 q^0.9 for a shared compound.
    EXPECT_NEAR(chernoff_divergence({{"x", 0.5}, {"y", 0.5}}, {{"x", 1.0}}, 0.1), 1.0 - std::pow(0.5, 0.1), 1e-12);
    EXPECT_DOUBLE_EQ(chernoff_divergence({{"x", 1.0}}, {{"x", 1.0}}, 0.1), 0.0);
}

// measure_split counts ids; the definition counts names in maps. Random
// examples (repeated atoms, names whose order differs from their ids' first
// appearance) give the same divergences to the last bit.
TEST(CompositionalSplit, MeasuredDivergencesEqualTheDistributionsDefinitionBitForBit) {
    std::mt19937_64 rng(7);
    std::vector<AtomList> examples(60);
    for (auto & e : examples) {
        const size_t n = 2 + rng() % 3;
        for (size_t i = 0; i < n; ++i) {
            e.push_back("s" + std::to_string(rng() % 4) + "=" + std::to_string(rng() % 12));
        }
    }
    std::vector<size_t> train;
    std::vector<size_t> test;
    for (size_t i = 0; i < examples.size(); ++i) {
        (rng() % 3 == 0 ? test : train).push_back(i);
    }
    const auto r = measure_split(examples, train, test);
    std::vector<const AtomList *> v;
    std::vector<const AtomList *> w;
    std::set<std::string> seen;
    for (size_t i : train) {
        v.push_back(&examples[i]);
        seen.insert(examples[i].begin(), examples[i].end());
    }
    std::set<std::string> unseen;
    for (size_t i : test) {
        w.push_back(&examples[i]);
        for (const auto & a : examples[i]) {
            if (!seen.contains(a)) {
                unseen.insert(a);
            }
        }
    }
    EXPECT_EQ(r.atom_divergence, chernoff_divergence(atom_distribution(v), atom_distribution(w), 0.5));
    EXPECT_EQ(r.compound_divergence, chernoff_divergence(compound_distribution(v), compound_distribution(w), 0.1));
    EXPECT_EQ(r.test_atoms_unseen, unseen.size());
    EXPECT_GT(r.compound_divergence, 0.0);
    EXPECT_LT(r.compound_divergence, 1.0);
}

std::vector<AtomList> grid(size_t a, size_t b, size_t c) {
    std::vector<AtomList> out;
    for (size_t i = 0; i < a; ++i) {
        for (size_t j = 0; j < b; ++j) {
            for (size_t k = 0; k < c; ++k) {
                out.push_back({"a=" + std::to_string(i), "b=" + std::to_string(j), "c=" + std::to_string(k)});
            }
        }
    }
    return out;
}

TEST(CompositionalSplit, TestCombinationsUnseenEveryTestAtomSeenAndTargetReached) {
    const auto examples = grid(6, 6, 5);
    const auto plain = compositional_split(examples, {0.3, -1.0, 3, 0});
    EXPECT_EQ(plain.test_atoms_unseen, 0U);
    std::set<AtomList> train_combos;
    for (size_t i : plain.train) {
        train_combos.insert(examples[i]);
    }
    for (size_t i : plain.test) {
        EXPECT_EQ(train_combos.count(examples[i]), 0U);
    }
    EXPECT_EQ(plain.train.size() + plain.test.size(), examples.size());
    for (double target : {0.05, 0.4}) {
        const auto steered = compositional_split(examples, {0.3, target, 3, 4000});
        EXPECT_EQ(steered.test_atoms_unseen, 0U);
        EXPECT_LT(std::abs(steered.compound_divergence - target), std::abs(plain.compound_divergence - target) + 1e-12)
            << "target " << target;
        EXPECT_LT(std::abs(steered.compound_divergence - target), 0.05) << "target " << target;
    }
}

// Sparse combinations, as a log that made only some of them has: atoms that
// occur once keep their combination seen, and a random draw almost never
// finds a valid split; one is built instead.
TEST(CompositionalSplit, SparseCombinationsStillSplitWithEveryTestAtomSeen) {
    std::vector<AtomList> examples;
    for (int a = 0; a < 3; ++a) {
        for (int b = 0; b < 3; ++b) {
            examples.push_back({"a=" + std::to_string(a), "b=" + std::to_string(b)});
        }
    }
    for (int i = 0; i < 60; ++i) {  // each of its atoms once
        examples.push_back({"a=x" + std::to_string(i), "b=y" + std::to_string(i)});
    }
    for (const uint64_t seed : {1, 2, 3, 4, 5}) {
        SplitOptions options;
        options.test_fraction = 4.0 / 69.0;
        options.seed = seed;
        const auto split = compositional_split(examples, options);
        EXPECT_EQ(split.test.size(), 4U) << seed;
        EXPECT_EQ(split.test_atoms_unseen, 0U) << seed;
        for (const size_t i : split.test) {
            EXPECT_LT(i, 9U) << "a combination with an atom of its own was held out";
        }
    }
}

TEST(Domain, FactoryExampleBuildsASplitAndATaskThatRuns) {
    const std::string dir = test::temp_dir("domain");
    const DomainSpec spec = load_domain_spec(test::source_dir() + "/domains/factory.yaml");
    const auto build = build_domain(spec, dir);
    EXPECT_EQ(build.items.size(), 8U * 6U * 6U);
    EXPECT_EQ(build.split.test_atoms_unseen, 0U);
    // The rules, checked on two combinations by hand.
    for (const auto & item : build.items) {
        if (item.slots.at("material") == "nylon" && item.slots.at("process") == "welded") {
            EXPECT_EQ(item.label, "defect");
        }
        if (item.slots.at("part") == "bracket" && item.slots.at("material") == "steel" &&
            item.slots.at("process") == "machined") {
            EXPECT_EQ(item.label, "fine");
        }
    }
    const TaskSpec task = load_task_spec(dir + "/task.yaml", dir);
    Model model(test::model_path("tiny-f16"));
    LoglikelihoodEngine engine(model, {});
    const auto result = run_task(engine, task, {PromptForm::Plain, 0});
    std::set<std::string> seen_combos;
    std::set<std::string> unseen_combos;
    for (const auto & item : result.items) {
        (item.split == "seen" ? seen_combos : unseen_combos).insert(item.fields.at("combination"));
    }
    EXPECT_EQ(seen_combos.size(), build.split.train.size());
    EXPECT_EQ(unseen_combos.size(), build.split.test.size());
    // No unseen combination is ever shown as a few-shot example.
    for (const auto & r : result.results) {
        const auto & item = result.items[r.item];
        if (item.split != "unseen") {
            continue;
        }
        for (const auto & combo : unseen_combos) {
            const auto plus1 = combo.find('+');
            const auto plus2 = combo.rfind('+');
            const std::string shown = "Part: " + combo.substr(0, plus1) +
                                      ". Material: " + combo.substr(plus1 + 1, plus2 - plus1 - 1) +
                                      ". Process: " + combo.substr(plus2 + 1) + ".";
            const auto last = r.context.rfind("Part: ");
            EXPECT_EQ(r.context.substr(0, last).find(shown), std::string::npos) << combo << " shown as a shot";
        }
        break;  // the preamble is shared; one item suffices
    }
}

TEST(Domain, MalformedDomainFilesNameTheField) {
    const std::string dir = test::temp_dir("domain-bad");
    std::ofstream(dir + "/d.yaml") << "name: d\nslots:\n  a: [x, y]\n  b: [z]\nlabel: {rules: []}\n";
    try {
        load_domain_spec(dir + "/d.yaml");
        FAIL();
    } catch (const Error & e) {
        EXPECT_EQ(std::string(e.what()), dir + "/d.yaml:4: slot 'b' needs a list of at least two values");
    }
    std::ofstream(dir + "/d.yaml") << "name: d\nslots:\n  a: [x, y]\n  b: [z, w]\nlabel:\n  rules:\n"
                                      "    - {when: {c: x}, label: bad}\n";
    try {
        load_domain_spec(dir + "/d.yaml");
        FAIL();
    } catch (const Error & e) {
        EXPECT_EQ(std::string(e.what()), dir + "/d.yaml:7: rule condition on unknown slot 'c'");
    }
}

}  // namespace
}  // namespace compeval
