#pragma once
// A user's own domain: named slots with values, a rule or table that labels
// each combination, and prompt templates. compeval generates every
// combination as an item and splits them compositionally.
#include "analysis/compositional_split.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval {

struct DomainRule {
    // slot (or slot.attribute) -> accepted values; every condition must hold.
    std::vector<std::pair<std::string, std::vector<std::string>>> when;
    std::string label;
    int line = 0;
};

struct DomainSpec {
    std::string path;
    std::string name;
    std::string description;
    std::vector<std::pair<std::string, std::vector<std::string>>> slots;  // in file order
    // slot -> value -> attribute -> text
    std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> attributes;
    std::vector<DomainRule> rules;  // first match wins
    std::string default_label;      // when no rule matches (empty: an error)
    std::string table_path;         // alternative to rules: CSV of slot columns + "label"
    SplitOptions split;
    int fewshot_k = 4;
    std::string task_yaml;  // the 'task' section (prompts, label words), re-emitted into task.yaml
};

struct DomainItem {
    std::map<std::string, std::string> slots;
    std::string label;
    AtomList atoms;  // "slot=value" per slot
};

// Parses and validates; throws compeval::Error "FILE:LINE: ..." naming the field.
DomainSpec load_domain_spec(const std::string & path);

// Every combination of slot values, labelled by the table or the rules.
std::vector<DomainItem> generate_domain_items(const DomainSpec & spec);

struct DomainBuild {
    std::vector<DomainItem> items;
    SplitReport split;
};

// Generates items, splits them, and writes to `dir`: seen.tsv (train
// combinations: the few-shot pool and the seen evaluation split), unseen.tsv
// (test combinations), split.json (sizes, D_A, D_C, options) and task.yaml
// (a task over both splits, so one run reports the seen/unseen gap).
DomainBuild build_domain(const DomainSpec & spec, const std::string & dir);

}  // namespace compeval
