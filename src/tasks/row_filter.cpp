#include "tasks/row_filter.hpp"

#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>

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

}  // namespace compeval
