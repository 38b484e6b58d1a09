#pragma once
// A task's `where:` conditions on column values, so that rows a data set
// ships but the study leaves out (filler rows of class NA, one language of
// several) are dropped by the task file rather than by rewriting the data.
#include "data/table_reader.hpp"
#include "tasks/derived_columns.hpp"

#include <string>
#include <vector>

namespace YAML {
class Node;
}

namespace compeval {

struct RowCondition {
    enum class Kind {
        OneOf,    // `column: value` or `column: [a, b]`
        NoneOf,   // `column: {not: value}` or `column: {not: [a, b]}`
        Compare,  // `column: "< 3.5"` (also <=, >, >=): the value as a number
    };
    std::string column;
    Kind kind = Kind::OneOf;
    std::vector<std::string> values;  // OneOf, NoneOf
    ScoreBin comparison;              // Compare
    int line = 0;                     // of the condition in the task file

    bool holds(const std::string & value) const;
    std::string describe() const;  // "class not NA", "rating < 3.5"
};

// `where:` in a task or domain file: `column: value`, `column: [a, b]`,
// `column: {not: value or list}` or `column: "< 3.5"` (also <=, >, >=).
// Throws compeval::Error "PATH:LINE: ..." naming the field (`name`, e.g. "data.where").
std::vector<RowCondition> read_row_conditions(const YAML::Node & node, const std::string & path,
                                              const std::string & name);

// Keeps the rows every condition holds for and returns how many were dropped.
// Throws compeval::Error naming the file and line of a row whose value a
// comparison cannot read as a number, and Table::column's error for a
// condition on a column the file lacks.
size_t filter_rows(const std::vector<RowCondition> & where, Table & table);

}  // namespace compeval
