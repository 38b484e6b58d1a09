#include "domains/domain_spec.hpp"

#include "data/table_reader.hpp"
#include "util/error.hpp"
#include "util/yaml_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
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

using Fail = std::function<void(const YAML::Node &, const std::string &)>;

std::string resolve(const std::string & domain_path, const std::string & file) {
    return (std::filesystem::path(domain_path).parent_path() / file).lexically_normal().string();
}

// `slots:`: slot -> values. A records domain may give a slot no values
// (`part: ~` or `part: []`): then its values are the ones observed.
void read_slots(DomainSpec & spec, const YAML::Node & slots, bool records, const Fail & fail) {
    for (const auto & kv : slots) {
        const auto name = kv.first.as<std::string>();
        spec.slot_lines[name] = kv.first.Mark().line + 1;
        if (records && (kv.second.IsNull() || (kv.second.IsSequence() && kv.second.size() == 0))) {
            spec.slots.emplace_back(name, std::vector<std::string>{});
            continue;
        }
        if (!kv.second.IsSequence() || kv.second.size() < (records ? 1U : 2U)) {
            fail(kv.second, "slot '" + name + "' needs a list of at least " + (records ? "one value" : "two values") +
                                (records ? " (or ~: the values observed)" : ""));
        }
        auto values = as_strings(kv.second);
        if (std::set<std::string>(values.begin(), values.end()).size() != values.size()) {
            fail(kv.second, "slot '" + name + "' lists a value twice");
        }
        spec.slots.emplace_back(name, std::move(values));
    }
}

const std::vector<std::string> * slot_values(const DomainSpec & spec, const std::string & slot) {
    for (const auto & [n, v] : spec.slots) {
        if (n == slot) {
            return &v;
        }
    }
    return nullptr;
}

// `attributes:` per slot: an inline map value -> {attribute: text}, or a
// master table {file, key[, format]}.
void read_attributes(DomainSpec & spec, const YAML::Node & attrs, const Fail & fail) {
    for (const auto & slot : attrs) {
        const auto slot_name = slot.first.as<std::string>();
        if (slot_values(spec, slot_name) == nullptr) {
            fail(slot.first, "attributes for unknown slot '" + slot_name + "'");
        }
        if (slot.second.IsMap() && slot.second["file"] && slot.second["file"].IsScalar()) {
            check_keys(slot.second, {"file", "key"}, spec.path, "attributes." + slot_name);
            AttributeTable table;
            table.slot = slot_name;
            table.file = resolve(spec.path, slot.second["file"].as<std::string>());
            table.key = slot.second["key"] ? slot.second["key"].as<std::string>() : slot_name;
            table.line = slot.first.Mark().line + 1;
            spec.attribute_tables.push_back(std::move(table));
            continue;
        }
        if (!slot.second.IsMap()) {
            fail(slot.second, "attributes of slot '" + slot_name +
                                  "' must map values to {attribute: text}, or name a table: {file: F, key: COLUMN}");
        }
        for (const auto & value : slot.second) {
            if (!value.second.IsMap()) {
                fail(value.second, "attributes of '" + slot_name + "=" + value.first.as<std::string>() +
                                       "' must map attribute names to text");
            }
            for (const auto & attr : value.second) {
                spec.attributes[slot_name][value.first.as<std::string>()][attr.first.as<std::string>()] =
                    attr.second.as<std::string>();
            }
        }
    }
}

void read_rules(DomainSpec & spec, const YAML::Node & label, const Fail & fail) {
    for (const auto & r : label["rules"]) {
        check_keys(r, {"when", "label"}, spec.path, "label.rules[]");
        DomainRule rule;
        rule.line = r.Mark().line + 1;
        if (!r["when"] || !r["label"]) {
            fail(r, "a rule needs 'when' and 'label'");
        }
        for (const auto & cond : r["when"]) {
            const auto key = cond.first.as<std::string>();
            const auto slot = key.substr(0, key.find('.'));
            if (slot_values(spec, slot) == nullptr) {
                fail(cond.first, "rule condition on unknown slot '" + slot + "'");
            }
            if (key.find('.') != std::string::npos) {
                const std::string attribute = key.substr(key.find('.') + 1);
                const auto names = spec.attribute_names(slot);
                if (std::find(names.begin(), names.end(), attribute) == names.end()) {
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
}

// `records:` — where the observations are and which columns hold what.
void read_records(DomainSpec & spec, const YAML::Node & node, const Fail & fail) {
    check_keys(node, {"file", "format", "delimiter", "outcome", "slots", "date", "where", "on_bad_row"}, spec.path,
               "records");
    if (!node["file"] || !node["outcome"]) {
        fail(node, "field 'records' needs 'file' (the log) and 'outcome' (the column of each row's outcome)");
    }
    RecordsSpec r;
    r.file = resolve(spec.path, node["file"].as<std::string>());
    try {
        r.table.format =
            node["format"] ? table_format_from_name(node["format"].as<std::string>()) : table_format_of_file(r.file);
    } catch (const Error & e) {
        fail(node["format"] ? node["format"] : node["file"],
             std::string(e.what()) + (node["format"] ? "" : "; name it with records.format"));
    }
    if (node["delimiter"]) {
        const auto d = node["delimiter"].as<std::string>();
        if (d.size() != 1) {
            fail(node["delimiter"], "field 'records.delimiter' must be one character");
        }
        r.table.delimiter = d[0];
    }
    r.outcome = node["outcome"].as<std::string>();
    r.date = node["date"] ? node["date"].as<std::string>() : "";
    if (node["where"]) {
        r.where = read_row_conditions(node["where"], spec.path, "records.where");
    }
    if (node["on_bad_row"]) {
        const auto policy = node["on_bad_row"].as<std::string>();
        if (policy != "error" && policy != "drop") {
            fail(node["on_bad_row"], "field 'records.on_bad_row' must be error or drop");
        }
        r.drop_bad_rows = policy == "drop";
    }
    if (const YAML::Node columns = node["slots"]) {
        if (!columns.IsMap() || columns.size() == 0) {
            fail(columns, "field 'records.slots' must map slot names to the columns holding them");
        }
        if (spec.slots.empty()) {  // the slots are named here only
            for (const auto & kv : columns) {
                spec.slot_lines[kv.first.as<std::string>()] = kv.first.Mark().line + 1;
                spec.slots.emplace_back(kv.first.as<std::string>(), std::vector<std::string>{});
            }
        }
        for (const auto & kv : columns) {
            if (slot_values(spec, kv.first.as<std::string>()) == nullptr) {
                fail(kv.first, "records.slots names '" + kv.first.as<std::string>() +
                                   "', which is not a slot of the top-level 'slots'");
            }
        }
    }
    for (const auto & [slot, values] : spec.slots) {
        const bool named = node["slots"] && node["slots"][slot];
        r.slot_columns.push_back(named ? node["slots"][slot].as<std::string>() : slot);
    }
    spec.records = std::move(r);
}

void read_split(DomainSpec & spec, const YAML::Node & split, const Fail & fail) {
    check_keys(split, {"by", "unseen_from", "test_fraction", "seed", "target_compound_divergence"}, spec.path, "split");
    spec.split.test_fraction = split["test_fraction"] ? split["test_fraction"].as<double>() : 0.3;
    spec.split.seed = split["seed"] ? split["seed"].as<uint64_t>() : 1;
    spec.split.target_compound_divergence =
        split["target_compound_divergence"] ? split["target_compound_divergence"].as<double>() : -1.0;
    if (spec.split.test_fraction <= 0.0 || spec.split.test_fraction >= 1.0) {
        fail(split["test_fraction"], "field 'split.test_fraction' must be between 0 and 1");
    }
    if (!split["by"]) {
        if (split["unseen_from"]) {
            fail(split["unseen_from"], "field 'split.unseen_from' goes with 'split.by: date'");
        }
        return;
    }
    spec.split_by = split["by"].as<std::string>();
    if (spec.split_by != "date") {
        fail(split["by"], "field 'split.by' must be date (or be left out: a random compositional split)");
    }
    if (!spec.records || spec.records->date.empty()) {
        fail(split["by"], "'split.by: date' needs records with a date column (records.date)");
    }
    if (split["test_fraction"] || split["target_compound_divergence"]) {
        fail(split,
             "'split.by: date' chooses the unseen combinations by date: test_fraction and "
             "target_compound_divergence do not apply");
    }
    const auto from = split["unseen_from"] ? parse_iso_date(split["unseen_from"].as<std::string>()) : std::nullopt;
    if (!from) {
        fail(split["unseen_from"] ? split["unseen_from"] : split,
             "'split.by: date' needs 'split.unseen_from', an ISO date (YYYY-MM-DD)");
    }
    spec.unseen_from = *from;
}

DomainSpec read_domain_spec(const std::string & path) {
    const YAML::Node root = load_yaml_file(path, "domain");
    const Fail fail = [&](const YAML::Node & node, const std::string & message) {
        throw Error(path + ":" + std::to_string(node.Mark().line + 1) + ": " + message);
    };
    check_keys(root, {"name", "description", "slots", "attributes", "label", "records", "split", "task"}, path, "");
    DomainSpec spec;
    spec.path = path;
    if (!root["name"]) {
        fail(root, "missing field 'name'");
    }
    spec.name = root["name"].as<std::string>();
    spec.description = root["description"] ? root["description"].as<std::string>() : "";
    const YAML::Node records = root["records"];
    const YAML::Node label = root["label"];
    if (records && label) {
        fail(records, "a domain takes its labels from 'label' (rules or a table) or from 'records', not both");
    }
    const YAML::Node slots = root["slots"];
    if (slots && !slots.IsMap()) {
        fail(slots, "field 'slots' must map slot names to value lists");
    }
    if (slots) {
        read_slots(spec, slots, static_cast<bool>(records), fail);
    }
    if (records) {
        read_records(spec, records, fail);
    }
    if (spec.slots.size() < 2) {
        fail(slots ? slots : root,
             records ? "a records domain needs at least two slots: 'slots' or 'records.slots' names them"
                     : "field 'slots' must map at least two slot names to value lists");
    }
    if (const YAML::Node attrs = root["attributes"]) {
        read_attributes(spec, attrs, fail);
    }
    load_attribute_tables(spec);
    if (!records) {
        if (!label) {
            fail(root, "missing field 'label' (rules or table) or 'records' (observations)");
        }
        check_keys(label, {"rules", "default", "table"}, path, "label");
        if (label["table"]) {
            spec.table_path = resolve(path, label["table"].as<std::string>());
        } else if (label["rules"]) {
            read_rules(spec, label, fail);
        } else {
            fail(label, "field 'label' needs 'rules' or 'table'");
        }
    }
    if (const YAML::Node split = root["split"]) {
        read_split(spec, split, fail);
    }
    const YAML::Node task = root["task"];
    if (!task || !task["prompts"] || !task["label_words"]) {
        fail(task ? task : root, "field 'task' must give 'prompts' and 'label_words' (see domains/factory.yaml)");
    }
    check_keys(task, {"fewshot_k", "label_words", "prompts"}, path, "task");
    spec.fewshot_k = task["fewshot_k"] ? task["fewshot_k"].as<int>() : 4;
    if (!task["label_words"].IsMap()) {
        fail(task["label_words"], "field 'task.label_words' must map each outcome to its answer word");
    }
    for (const auto & kv : task["label_words"]) {
        spec.outcomes.push_back(kv.first.as<std::string>());
    }
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
    if (spec.records) {
        throw Error(spec.path + ": a records domain's items are the observed combinations (read_domain_records)");
    }
    std::map<std::vector<std::string>, std::string> table;
    std::map<std::vector<std::string>, size_t> table_lines;
    if (!spec.table_path.empty()) {
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
            // A second row for a combination would silently replace the first:
            // repeated observations belong in `records:`, which counts them.
            if (const auto [it, fresh] = table_lines.emplace(key, row.line); !fresh) {
                throw Error(t.path + ":" + std::to_string(row.line) +
                            ": the combination on this line is already on line " + std::to_string(it->second) +
                            "; a label table lists each combination once (a log of repeated observations is "
                            "read with 'records:')");
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

std::vector<std::string> DomainSpec::attribute_names(const std::string & slot) const {
    std::set<std::string> names;
    if (const auto it = attributes.find(slot); it != attributes.end()) {
        for (const auto & [value, attrs] : it->second) {
            for (const auto & [attribute, text] : attrs) {
                names.insert(attribute);
            }
        }
    }
    return {names.begin(), names.end()};
}

std::optional<std::string> parse_iso_date(const std::string & text) {
    const auto begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos || text.size() - begin < 10) {
        return std::nullopt;
    }
    const std::string d = text.substr(begin, 10);
    const char sep = d[4];
    if ((sep != '-' && sep != '/') || d[7] != sep) {
        return std::nullopt;
    }
    for (const size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
        if (d[i] < '0' || d[i] > '9') {
            return std::nullopt;
        }
    }
    const std::string rest = text.substr(begin + 10);
    if (!rest.empty() && rest.find_first_not_of(" \t\r") != std::string::npos && rest[0] != 'T' && rest[0] != ' ') {
        return std::nullopt;
    }
    const int year = std::stoi(d.substr(0, 4));
    const int month = std::stoi(d.substr(5, 2));
    const int day = std::stoi(d.substr(8, 2));
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1 ||
        day > kDays.at(static_cast<size_t>(month - 1)) + (month == 2 && leap ? 1 : 0)) {
        return std::nullopt;
    }
    return d.substr(0, 4) + "-" + d.substr(5, 2) + "-" + d.substr(8, 2);
}

}  // namespace compeval
