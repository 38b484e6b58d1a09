#include "domains/domain_build.hpp"

#include "util/error.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

namespace compeval {
namespace {

std::string tsv_field(const std::string & v) {
    if (v.find_first_of("\t\n") != std::string::npos) {
        throw Error("value \"" + v + "\" contains a tab or newline");
    }
    return v;
}

std::string combination_of(const DomainSpec & spec, const DomainItem & item) {
    std::string combination;
    for (const auto & [slot, values] : spec.slots) {
        combination += (combination.empty() ? "" : "+") + item.slots.at(slot);
    }
    return combination;
}

// Columns after the slots: each slot's attributes as "slot.attribute", so a
// prompt can read {{material.kind}} and the report break errors down by them.
std::vector<std::pair<std::string, std::string>> attribute_columns(const DomainSpec & spec) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto & [slot, values] : spec.slots) {
        for (const auto & name : spec.attribute_names(slot)) {
            out.emplace_back(slot, name);
        }
    }
    return out;
}

std::string attribute_of(const DomainSpec & spec, const DomainItem & item, const std::string & slot,
                         const std::string & name) {
    const auto values = spec.attributes.find(slot);
    if (values == spec.attributes.end()) {
        return "";
    }
    const auto v = values->second.find(item.slots.at(slot));
    if (v == values->second.end() || !v->second.contains(name)) {
        return "";
    }
    return v->second.at(name);
}

// One line per combination of a rule domain; one per kept row of a records
// domain (each with its own outcome), which the task groups by combination.
void write_split_tsv(const DomainSpec & spec, const DomainBuild & build, const std::string & path,
                     const std::vector<size_t> & indices) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    const auto attributes = attribute_columns(spec);
    for (const auto & [slot, values] : spec.slots) {
        out << slot << '\t';
    }
    for (const auto & [slot, name] : attributes) {
        out << slot << '.' << name << '\t';
    }
    out << "label\tcombination\n";
    for (const size_t i : indices) {
        const DomainItem & item = build.items[i];
        std::string prefix;
        for (const auto & [slot, values] : spec.slots) {
            prefix += tsv_field(item.slots.at(slot)) + '\t';
        }
        for (const auto & [slot, name] : attributes) {
            prefix += tsv_field(attribute_of(spec, item, slot, name)) + '\t';
        }
        const std::string combination = combination_of(spec, item);
        if (item.outcome_counts.empty()) {
            out << prefix << tsv_field(item.label) << '\t' << combination << '\n';
            continue;
        }
        for (size_t o = 0; o < spec.outcomes.size(); ++o) {
            for (size_t n = 0; n < item.outcome_counts[o]; ++n) {
                out << prefix << tsv_field(spec.outcomes[o]) << '\t' << combination << '\n';
            }
        }
    }
}

// combinations.tsv: what the records say of each combination, for a person to check.
void write_combinations(const DomainSpec & spec, const DomainBuild & build, const std::string & path) {
    std::vector<std::string> split(build.items.size(), "left_out");
    for (const size_t i : build.split.train) {
        split[i] = "seen";
    }
    for (const size_t i : build.split.test) {
        split[i] = "unseen";
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "combination\tsplit\trows\tmajority\ttie\tfirst_date";
    for (const auto & o : spec.outcomes) {
        out << '\t' << tsv_field(o);
    }
    out << '\n';
    for (size_t i = 0; i < build.items.size(); ++i) {
        const DomainItem & item = build.items[i];
        out << combination_of(spec, item) << '\t' << split[i] << '\t' << item.rows << '\t' << item.label << '\t'
            << (item.tie ? "yes" : "no") << '\t' << item.first_date;
        for (const size_t n : item.outcome_counts) {
            out << '\t' << n;
        }
        out << '\n';
    }
}

nlohmann::json records_json(const DomainSpec & spec, const DomainBuild & build) {
    const RecordsSummary & r = *build.records;
    nlohmann::json out = {{"records",
                           {{"file", spec.records->file},
                            {"rows_read", r.rows_read},
                            {"rows_kept", r.rows_kept},
                            {"rows_dropped", r.rows_dropped},
                            {"dropped_examples", r.dropped_examples},
                            {"combinations", r.combinations},
                            {"ties", r.ties},
                            {"combinations_with_disagreeing_outcomes", r.disagreeing}}},
                          {"outcomes", spec.outcomes}};
    const NoiseCeiling seen = noise_ceiling(build.items, build.split.train);
    const NoiseCeiling unseen = noise_ceiling(build.items, build.split.test);
    out["noise_ceiling"] = {{"seen", seen.rows}, {"unseen", unseen.rows}};
    out["noise_ceiling_per_combination"] = {{"seen", seen.combinations}, {"unseen", unseen.combinations}};
    out["rows"] = {{"seen", seen.n_rows}, {"unseen", unseen.n_rows}};
    out["left_out"] = nlohmann::json::array();
    std::set<std::string> seen_atoms;
    for (const size_t i : build.split.train) {
        seen_atoms.insert(build.items[i].atoms.begin(), build.items[i].atoms.end());
    }
    for (const size_t i : build.left_out) {
        nlohmann::json atoms = nlohmann::json::array();
        for (const auto & a : build.items[i].atoms) {
            if (!seen_atoms.contains(a)) {
                atoms.push_back(a);
            }
        }
        out["left_out"].push_back({{"combination", combination_of(spec, build.items[i])},
                                   {"first_date", build.items[i].first_date},
                                   {"atoms_not_seen_before", atoms}});
    }
    return out;
}

void write_task_yaml(const DomainSpec & spec, const std::string & dir) {
    YAML::Node task = YAML::Load(spec.task_yaml);
    YAML::Node out;
    out["name"] = spec.name;
    out["category"] = "domain";
    out["description"] = spec.description;
    out["data"]["format"] = "tsv";
    out["data"]["splits"]["seen"] = "{data_dir}/seen.tsv";
    out["data"]["splits"]["unseen"] = "{data_dir}/unseen.tsv";
    for (const auto & [slot, values] : spec.slots) {
        out["data"]["keep"].push_back(slot);
    }
    for (const auto & [slot, name] : attribute_columns(spec)) {
        out["data"]["keep"].push_back(slot + "." + name);
    }
    out["data"]["keep"].push_back("combination");
    if (spec.records) {
        // One item per combination: the majority of its rows is gold, their
        // counts the observed outcome shares.
        out["data"]["group_by"].push_back("combination");
    }
    out["fewshot"]["k"] = spec.fewshot_k;
    out["fewshot"]["path"] = "{data_dir}/seen.tsv";
    out["fewshot"]["seed"] = spec.split.seed;
    out["scoring"]["mode"] = "label_words";
    out["scoring"]["label"] = "label";
    out["scoring"]["label_words"] = task["label_words"];
    out["prompts"] = task["prompts"];
    YAML::Emitter emitter;
    emitter << out;
    std::ofstream(dir + "/task.yaml") << "# Generated by compeval domain from " << spec.path << "; run with --data-dir "
                                      << dir << "\n"
                                      << emitter.c_str() << '\n';
}

std::vector<AtomList> atom_lists(const std::vector<DomainItem> & items) {
    std::vector<AtomList> atoms(items.size());
    std::transform(items.begin(), items.end(), atoms.begin(), [](const DomainItem & item) { return item.atoms; });
    return atoms;
}

std::string date_split_problem(size_t before, size_t after, size_t left_out, const std::string & from) {
    if (before == 0) {
        return "split.by date: no combination was made before " + from + ", so none is seen";
    }
    if (after == 0) {
        return "split.by date: no combination was first made on or after " + from + ", so none is unseen";
    }
    return "split.by date: each of the " + std::to_string(left_out) + " combinations first made on or after " + from +
           " has an atom never seen before it, so none is unseen";
}

}  // namespace

NoiseCeiling noise_ceiling(const std::vector<DomainItem> & items, const std::vector<size_t> & indices) {
    NoiseCeiling c;
    size_t majority_rows = 0;
    for (const size_t i : indices) {
        const auto & counts = items[i].outcome_counts;
        if (items[i].rows == 0 || counts.empty()) {
            continue;
        }
        const size_t top = *std::max_element(counts.begin(), counts.end());
        majority_rows += top;
        c.n_rows += items[i].rows;
        c.combinations += static_cast<double>(top) / static_cast<double>(items[i].rows);
        ++c.n_combinations;
    }
    if (c.n_combinations > 0) {
        c.rows = static_cast<double>(majority_rows) / static_cast<double>(c.n_rows);
        c.combinations /= static_cast<double>(c.n_combinations);
    }
    return c;
}

SplitReport date_split(const std::vector<DomainItem> & items, const std::string & unseen_from,
                       std::vector<size_t> & left_out) {
    std::vector<size_t> train;
    std::vector<size_t> candidates;
    std::set<std::string> seen_atoms;
    for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].first_date < unseen_from) {
            train.push_back(i);
            seen_atoms.insert(items[i].atoms.begin(), items[i].atoms.end());
        } else {
            candidates.push_back(i);
        }
    }
    std::vector<size_t> test;
    left_out.clear();
    for (const size_t i : candidates) {
        const bool atoms_seen = std::all_of(items[i].atoms.begin(), items[i].atoms.end(),
                                            [&](const std::string & a) { return seen_atoms.contains(a); });
        if (atoms_seen) {
            test.push_back(i);
        } else {
            left_out.push_back(i);
        }
    }
    if (train.empty() || test.empty()) {
        throw Error(date_split_problem(train.size(), candidates.size(), left_out.size(), unseen_from));
    }
    return measure_split(atom_lists(items), std::move(train), std::move(test));
}

DomainBuild build_domain(const DomainSpec & spec, const std::string & dir) {
    DomainBuild build;
    if (spec.records) {
        auto records = read_domain_records(spec);
        build.items = std::move(records.items);
        build.records = records.summary;
    } else {
        build.items = generate_domain_items(spec);
    }
    try {
        if (spec.split_by == "date") {
            build.split = date_split(build.items, spec.unseen_from, build.left_out);
        } else {
            build.split = compositional_split(atom_lists(build.items), spec.split);
        }
    } catch (const Error & e) {
        throw Error(spec.path + ": " + e.what());
    }
    std::filesystem::create_directories(dir);
    write_split_tsv(spec, build, dir + "/seen.tsv", build.split.train);
    write_split_tsv(spec, build, dir + "/unseen.tsv", build.split.test);
    nlohmann::json report = {{"domain", spec.name},
                             {"combinations", build.items.size()},
                             {"seen", build.split.train.size()},
                             {"unseen", build.split.test.size()},
                             {"atom_divergence", build.split.atom_divergence},
                             {"compound_divergence", build.split.compound_divergence},
                             {"test_atoms_unseen_in_train", build.split.test_atoms_unseen},
                             {"test_fraction", spec.split.test_fraction},
                             {"target_compound_divergence", spec.split.target_compound_divergence},
                             {"seed", spec.split.seed}};
    if (spec.split_by == "date") {
        report["split_by"] = "date";
        report["unseen_from"] = spec.unseen_from;
        report.erase("test_fraction");
        report.erase("target_compound_divergence");
    }
    if (build.records) {
        report.update(records_json(spec, build));
        write_combinations(spec, build, dir + "/combinations.tsv");
    }
    std::ofstream(dir + "/split.json") << report.dump(2) << '\n';
    write_task_yaml(spec, dir);
    return build;
}

}  // namespace compeval
