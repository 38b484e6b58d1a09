#include "data/domain_spec.hpp"

#include "data/table_reader.hpp"
#include "util/error.hpp"
#include "util/yaml_file.hpp"

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

namespace compeval {
namespace {

std::vector<std::string> as_strings(const YAML::Node & node) {
    std::vector<std::string> out;
    if (node.IsSequence()) {
        for (const auto & v : node) {
            out.push_back(v.as<std::string>());
        }
    } else {
        out.push_back(node.as<std::string>());
    }
    return out;
}

std::string condition_value(const DomainSpec & spec, const DomainItem & item, const std::string & key) {
    const auto dot = key.find('.');
    if (dot == std::string::npos) {
        return item.slots.at(key);
    }
    const std::string slot = key.substr(0, dot);
    const std::string attribute = key.substr(dot + 1);
    const auto values = spec.attributes.find(slot);
    if (values == spec.attributes.end()) {
        return "";  // refused when the file was read; kept total here
    }
    const auto v = values->second.find(item.slots.at(slot));
    if (v == values->second.end() || !v->second.contains(attribute)) {
        return "";
    }
    return v->second.at(attribute);
}

std::string tsv_field(const std::string & v) {
    if (v.find_first_of("\t\n") != std::string::npos) {
        throw Error("slot value \"" + v + "\" contains a tab or newline");
    }
    return v;
}

}  // namespace

namespace {

DomainSpec read_domain_spec(const std::string & path) {
    const YAML::Node root = load_yaml_file(path, "domain");
    auto fail = [&](const YAML::Node & node, const std::string & message) {
        throw Error(path + ":" + std::to_string(node.Mark().line + 1) + ": " + message);
    };
    check_keys(root, {"name", "description", "slots", "attributes", "label", "split", "task"}, path, "");
    DomainSpec spec;
    spec.path = path;
    if (!root["name"]) {
        fail(root, "missing field 'name'");
    }
    spec.name = root["name"].as<std::string>();
    spec.description = root["description"] ? root["description"].as<std::string>() : "";
    const YAML::Node slots = root["slots"];
    if (!slots || !slots.IsMap() || slots.size() < 2) {
        fail(slots ? slots : root, "field 'slots' must map at least two slot names to value lists");
    }
    for (const auto & kv : slots) {
        const auto name = kv.first.as<std::string>();
        if (!kv.second.IsSequence() || kv.second.size() < 2) {
            fail(kv.second, "slot '" + name + "' needs a list of at least two values");
        }
        auto values = as_strings(kv.second);
        if (std::set<std::string>(values.begin(), values.end()).size() != values.size()) {
            fail(kv.second, "slot '" + name + "' lists a value twice");
        }
        spec.slots.emplace_back(name, std::move(values));
    }
    auto slot_values = [&](const std::string & slot) -> const std::vector<std::string> * {
        for (const auto & [n, v] : spec.slots) {
            if (n == slot) {
                return &v;
            }
        }
        return nullptr;
    };
    if (const YAML::Node attrs = root["attributes"]) {
        for (const auto & slot : attrs) {
            const auto slot_name = slot.first.as<std::string>();
            if (slot_values(slot_name) == nullptr) {
                fail(slot.first, "attributes for unknown slot '" + slot_name + "'");
            }
            for (const auto & value : slot.second) {
                for (const auto & attr : value.second) {
                    spec.attributes[slot_name][value.first.as<std::string>()][attr.first.as<std::string>()] =
                        attr.second.as<std::string>();
                }
            }
        }
    }
    const YAML::Node label = root["label"];
    if (!label) {
        fail(root, "missing field 'label' (rules or table)");
    }
    check_keys(label, {"rules", "default", "table"}, path, "label");
    if (label["table"]) {
        spec.table_path =
            (std::filesystem::path(path).parent_path() / label["table"].as<std::string>()).lexically_normal().string();
    } else if (label["rules"]) {
        for (const auto & r : label["rules"]) {
            check_keys(r, {"when", "label"}, path, "label.rules[]");
            DomainRule rule;
            rule.line = r.Mark().line + 1;
            if (!r["when"] || !r["label"]) {
                fail(r, "a rule needs 'when' and 'label'");
            }
            for (const auto & cond : r["when"]) {
                const auto key = cond.first.as<std::string>();
                const auto slot = key.substr(0, key.find('.'));
                if (slot_values(slot) == nullptr) {
                    fail(cond.first, "rule condition on unknown slot '" + slot + "'");
                }
                if (key.find('.') != std::string::npos) {
                    const std::string attribute = key.substr(key.find('.') + 1);
                    const auto attrs = spec.attributes.find(slot);
                    const bool known = attrs != spec.attributes.end() &&
                                       std::any_of(attrs->second.begin(), attrs->second.end(),
                                                   [&](const auto & v) { return v.second.contains(attribute); });
                    if (!known) {
                        fail(cond.first, "rule condition on '" + key + "': no value of slot '" + slot +
                                             "' has the attribute '" + attribute + "'");
                    }
                }
                rule.when.emplace_back(key, as_strings(cond.second));
            }
            rule.label = r["label"].as<std::string>();
            spec.rules.push_back(std::move(rule));
        }
        spec.default_label = label["default"] ? label["default"].as<std::string>() : "";
    } else {
        fail(label, "field 'label' needs 'rules' or 'table'");
    }
    if (const YAML::Node split = root["split"]) {
        check_keys(split, {"test_fraction", "seed", "target_compound_divergence"}, path, "split");
        spec.split.test_fraction = split["test_fraction"] ? split["test_fraction"].as<double>() : 0.3;
        spec.split.seed = split["seed"] ? split["seed"].as<uint64_t>() : 1;
        spec.split.target_compound_divergence =
            split["target_compound_divergence"] ? split["target_compound_divergence"].as<double>() : -1.0;
        if (spec.split.test_fraction <= 0.0 || spec.split.test_fraction >= 1.0) {
            fail(split["test_fraction"], "field 'split.test_fraction' must be between 0 and 1");
        }
    }
    const YAML::Node task = root["task"];
    if (!task || !task["prompts"] || !task["label_words"]) {
        fail(task ? task : root, "field 'task' must give 'prompts' and 'label_words' (see domains/factory.yaml)");
    }
    check_keys(task, {"fewshot_k", "label_words", "prompts"}, path, "task");
    spec.fewshot_k = task["fewshot_k"] ? task["fewshot_k"].as<int>() : 4;
    YAML::Emitter emitter;
    emitter << task;
    spec.task_yaml = emitter.c_str();
    return spec;
}

}  // namespace

DomainSpec load_domain_spec(const std::string & path) {
    return with_yaml_errors(path, "domain", [&] { return read_domain_spec(path); });
}

std::vector<DomainItem> generate_domain_items(const DomainSpec & spec) {
    std::map<std::vector<std::string>, std::string> table;
    if (!spec.table_path.empty()) {
        std::vector<std::string> columns;
        const Table t = read_table(spec.table_path, {TableFormat::Csv, {}, 0});
        for (const auto & row : t.rows) {
            std::vector<std::string> key;
            for (const auto & [slot, values] : spec.slots) {
                const auto & v = row.values[t.column(slot)];
                if (std::find(values.begin(), values.end(), v) == values.end()) {
                    throw Error(t.path + ":" + std::to_string(row.line) + ": field '" + slot + "': unknown value '" +
                                v + "'");
                }
                key.push_back(v);
            }
            table[key] = row.values[t.column("label")];
        }
    }
    std::vector<DomainItem> items;
    std::vector<size_t> index(spec.slots.size(), 0);
    while (true) {
        DomainItem item;
        std::vector<std::string> key;
        for (size_t s = 0; s < spec.slots.size(); ++s) {
            const auto & [slot, values] = spec.slots[s];
            item.slots[slot] = values[index[s]];
            item.atoms.push_back(slot + "=" + values[index[s]]);
            key.push_back(values[index[s]]);
        }
        if (!spec.table_path.empty()) {
            const auto it = table.find(key);
            if (it == table.end()) {
                std::string combo;
                for (const auto & a : item.atoms) {
                    combo += (combo.empty() ? "" : ", ") + a;
                }
                throw Error(spec.table_path + ": no label for the combination " + combo);
            }
            item.label = it->second;
        } else {
            for (const auto & rule : spec.rules) {
                const bool match = std::all_of(rule.when.begin(), rule.when.end(), [&](const auto & cond) {
                    const auto v = condition_value(spec, item, cond.first);
                    return std::find(cond.second.begin(), cond.second.end(), v) != cond.second.end();
                });
                if (match) {
                    item.label = rule.label;
                    break;
                }
            }
            if (item.label.empty()) {
                if (spec.default_label.empty()) {
                    throw Error(spec.path + ": no rule labels " + item.atoms.front() + " ... and there is no default");
                }
                item.label = spec.default_label;
            }
        }
        items.push_back(std::move(item));
        size_t s = spec.slots.size();
        while (s > 0) {
            --s;
            if (++index[s] < spec.slots[s].second.size()) {
                break;
            }
            index[s] = 0;
            if (s == 0) {
                return items;
            }
        }
    }
}

DomainBuild build_domain(const DomainSpec & spec, const std::string & dir) {
    DomainBuild build;
    build.items = generate_domain_items(spec);
    std::vector<AtomList> atoms;
    for (const auto & item : build.items) {
        atoms.push_back(item.atoms);
    }
    build.split = compositional_split(atoms, spec.split);
    std::filesystem::create_directories(dir);
    auto write_tsv = [&](const std::string & file, const std::vector<size_t> & idx) {
        std::ofstream out(dir + "/" + file, std::ios::binary | std::ios::trunc);
        for (const auto & [slot, values] : spec.slots) {
            out << slot << '\t';
        }
        out << "label\tcombination\n";
        for (size_t i : idx) {
            std::string combination;
            for (const auto & [slot, values] : spec.slots) {
                out << tsv_field(build.items[i].slots.at(slot)) << '\t';
                combination += (combination.empty() ? "" : "+") + build.items[i].slots.at(slot);
            }
            out << tsv_field(build.items[i].label) << '\t' << combination << '\n';
        }
    };
    write_tsv("seen.tsv", build.split.train);
    write_tsv("unseen.tsv", build.split.test);
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
    std::ofstream(dir + "/split.json") << report.dump(2) << '\n';

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
    out["data"]["keep"].push_back("combination");
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
    return build;
}

}  // namespace compeval
