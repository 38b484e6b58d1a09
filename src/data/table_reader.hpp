#pragma once
// Reads tabular data files (TSV, CSV, JSONL, a JSON array) into rows of named string
// fields, rejecting malformed input with "FILE:LINE: cause".
#include <map>
#include <string>
#include <vector>

namespace compeval {

enum class TableFormat { Tsv, Csv, Jsonl, Json };

TableFormat table_format_from_name(const std::string & name);  // "tsv", "csv", "jsonl", "json"
// The format a file's extension names (.csv, .tsv or .txt, .jsonl, .json, any case); throws compeval::Error otherwise.
TableFormat table_format_of_file(const std::string & path);
// `text` without leading and trailing spaces and tabs (a hand-typed cell's).
std::string trim_blanks(const std::string & text);

struct TableRow {
    size_t line = 0;  // 1-based line of the row in its file (JSON: of the object's opening brace)
    std::vector<std::string> values;
};

struct Table {
    std::string path;
    std::vector<std::string> columns;
    std::vector<TableRow> rows;

    // Index of a column; throws compeval::Error with missing_column's text.
    size_t column(const std::string & name) const;
    // "PATH: no column 'name' (columns: ...)", and what the header looks like
    // where it looks like another format (a CSV file read as TSV).
    std::string missing_column(const std::string & name) const;
};

struct TableOptions {
    TableFormat format = TableFormat::Tsv;
    // Column names for files without a header row; empty = the first row is the header.
    std::vector<std::string> columns;
    // CSV/TSV: a different delimiter than the format's default (e.g. tab-separated ".csv").
    char delimiter = 0;
};

// Every row must have as many fields as there are columns, and every field
// must be valid UTF-8; a UTF-8 byte-order mark at the start is skipped. JSONL lines, and the elements of a JSON file
// that is one array, must be objects whose values are strings, numbers or booleans (converted to text); the first
// object's keys become the columns.
Table read_table(const std::string & path, const TableOptions & options);

}  // namespace compeval
