#include "tasks/row_filter.hpp"

#include "util/error.hpp"
#include "util/yaml_file.hpp"

#include <fmt/core.h>

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace compeval {

bool RowCondition::holds(const std::string & value) const {
    switch (kind) {
        case Kind::OneOf:
            return std::find(values.begin(), values.end(), value) != values.end();
        case Kind::NoneOf:
            return std::find(values.begin(), values.end(), value) == values.end();
        case Kind::Compare: {
            double number = 0;
            if (!parse_number(value, number)) {
                throw Error("'" + value + "' is not a number (" + describe() + ")");
            }
            return comparison.contains(number);
        }
    }
    return false;
}

std::string RowCondition::describe() const {
    if (kind == Kind::Compare) {
        return column + " " + comparison.op + " " + fmt::format("{:g}", comparison.bound);
    }
    std::string list;
    for (const auto & v : values) {
        list += (list.empty() ? "" : ", ") + v;
    }
    return column + (kind == Kind::NoneOf ? " not " : " ") + (values.size() > 1 ? "in [" + list + "]" : list);
}

size_t filter_rows(const std::vector<RowCondition> & where, Table & table) {
    if (where.empty()) {
        return 0;
    }
    std::vector<size_t> columns;
    columns.reserve(where.size());
    for (const auto & c : where) {
        columns.push_back(table.column(c.column));
    }
    std::vector<TableRow> kept;
    kept.reserve(table.rows.size());
    for (auto & row : table.rows) {
        bool keep = true;
        for (size_t i = 0; i < where.size() && keep; ++i) {
            try {
                keep = where[i].holds(row.values[columns[i]]);
            } catch (const Error & e) {
                throw Error(table.path + ":" + std::to_string(row.line) + ": field '" + where[i].column +
                            "': " + e.what());
            }
        }
        if (keep) {
            kept.push_back(std::move(row));
        }
    }
    const size_t dropped = table.rows.size() - kept.size();
    table.rows = std::move(kept);
    return dropped;
}

namespace {

[[noreturn]] void fail_at(const YAML::Node & node, const std::string & path, const std::string & message) {
    const int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    throw Error(path + ":" + (line > 0 ? std::to_string(line) + ": " : " ") + message);
}

std::string condition_text(const YAML::Node & node, const std::string & path, const std::string & field) {
    if (!node.IsScalar()) {
        fail_at(node, path, "field '" + field + "' must be a string");
    }
    return node.as<std::string>();
}

std::vector<std::string> condition_texts(const YAML::Node & node, const std::string & path, const std::string & field) {
    if (!node.IsSequence()) {
        fail_at(node, path, "field '" + field + "' must be a list of strings");
    }
    std::vector<std::string> out;
    for (const auto & item : node) {
        out.push_back(condition_text(item, path, field));
    }
    return out;
}

}  // namespace

std::vector<RowCondition> read_row_conditions(const YAML::Node & node, const std::string & path,
                                              const std::string & name) {
    if (!node.IsMap() || node.size() == 0) {
        fail_at(node, path, "field '" + name + "' must map columns to values, lists, {not: ...} or comparisons");
    }
    std::vector<RowCondition> out;
    for (const auto & kv : node) {
        RowCondition c;
        c.column = kv.first.as<std::string>();
        c.line = kv.first.Mark().line + 1;
        const YAML::Node & v = kv.second;
        const std::string field = name + "." + c.column;
        if (v.IsMap()) {
            check_keys(v, {"not"}, path, field);
            c.kind = RowCondition::Kind::NoneOf;
            const YAML::Node values = v["not"];
            if (!values) {
                fail_at(v, path, "missing field '" + field + ".not'");
            }
            c.values = values.IsSequence() ? condition_texts(values, path, field + ".not")
                                           : std::vector{condition_text(values, path, field)};
        } else if (v.IsSequence()) {
            c.values = condition_texts(v, path, field);
        } else {
            const std::string text = condition_text(v, path, field);
            const auto first = text.find_first_not_of(' ');
            if (first != std::string::npos && (text[first] == '<' || text[first] == '>')) {
                c.kind = RowCondition::Kind::Compare;
                try {
                    c.comparison = parse_score_bin(c.column, text);
                } catch (const Error & e) {
                    fail_at(v, path, "field '" + field + "': " + e.what());
                }
            } else {
                c.values = {text};
            }
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace compeval
