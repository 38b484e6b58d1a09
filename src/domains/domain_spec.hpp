#pragma once
// A user's own domain: named slots, and where each combination's label comes
// from: rules or a table that label every combination of listed values, or
// the line's own records (an inspection log: one row per observed piece, many
// rows per combination, outcomes that may disagree, combinations never made).
// Prompt templates and label words make it a task; the combinations are split
// compositionally (domain_build.hpp).
#include "analysis/compositional_split.hpp"
#include "data/table_reader.hpp"
#include "tasks/row_filter.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace compeval {

struct DomainRule {
    // slot (or slot.attribute) -> accepted values; every condition must hold.
    std::vector<std::pair<std::string, std::vector<std::string>>> when;
    std::string label;
    int line = 0;
};

// `records:` — observations, one row each, read by the table reader.
struct RecordsSpec {
    std::string file;  // resolved against the domain file's folder
    TableOptions table;
    std::string outcome;                    // the column holding each row's outcome
    std::vector<std::string> slot_columns;  // the column of each slot, in DomainSpec::slots order
    std::string date;                       // column of ISO dates; "" when none
    std::vector<RowCondition> where;
    bool drop_bad_rows = false;  // `on_bad_row: drop`: a bad row is left out and counted, not an error
};

// A per-slot master table (`attributes: {material: {file: materials.csv, key: material}}`):
// each row's other columns are the attributes of the value in its key column.
struct AttributeTable {
    std::string slot;
    std::string file;
    std::string key;
    int line = 0;  // of the entry in the domain file
};

struct DomainSpec {
    std::string path;
    std::string name;
    std::string description;
    // In file order. A records domain may leave a slot's values unlisted
    // (empty): its values are the ones observed.
    std::vector<std::pair<std::string, std::vector<std::string>>> slots;
    std::map<std::string, int> slot_lines;  // slot -> line of its entry in the domain file
    // slot -> value -> attribute -> text (inline maps and master tables)
    std::map<std::string, std::map<std::string, std::map<std::string, std::string>>> attributes;
    std::vector<AttributeTable> attribute_tables;
    std::vector<DomainRule> rules;  // first match wins
    std::string default_label;      // when no rule matches (empty: an error)
    std::string table_path;         // alternative to rules: CSV of slot columns + "label"
    std::optional<RecordsSpec> records;
    std::vector<std::string> outcomes;  // the keys of task.label_words, in file order
    SplitOptions split;
    std::string split_by;     // "" (a random compositional split) or "date" (records only)
    std::string unseen_from;  // split.by date: combinations first made on or after it are unseen
    int fewshot_k = 4;
    std::string task_yaml;  // the 'task' section (prompts, label words), re-emitted into task.yaml

    // The attribute names of a slot, over all its values (sorted).
    std::vector<std::string> attribute_names(const std::string & slot) const;
};

struct DomainItem {
    std::map<std::string, std::string> slots;
    std::string label;
    AtomList atoms;  // "slot=value" per slot
    // Records domains: rows per outcome (DomainSpec::outcomes order), all of
    // them, the first date the combination was made ("" without a date
    // column), and whether the majority was a tie (broken toward the outcome
    // listed first, as data.group_by breaks it).
    std::vector<size_t> outcome_counts;
    size_t rows = 0;
    std::string first_date;
    bool tie = false;
};

// Parses and validates, master tables included; throws compeval::Error
// "FILE:LINE: ..." naming the field (or the master table's row).
DomainSpec load_domain_spec(const std::string & path);

// Every combination of slot values, labelled by the table or the rules. A
// records domain's items come from read_domain_records (inspection_records.hpp).
std::vector<DomainItem> generate_domain_items(const DomainSpec & spec);

// Reads the master tables the spec names into spec.attributes; a listed slot
// value missing from its table is an error naming the domain file's line
// (attribute_tables.cpp).
void load_attribute_tables(DomainSpec & spec);

// "YYYY-MM-DD" for an ISO date (YYYY-MM-DD or YYYY/MM/DD, a time after 'T' or
// a space ignored) that exists in the calendar; nullopt otherwise.
std::optional<std::string> parse_iso_date(const std::string & text);

}  // namespace compeval
