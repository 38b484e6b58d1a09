#include "data/table_reader.hpp"

#include "util/error.hpp"
#include "util/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace compeval {
namespace {

std::string where(const std::string & path, size_t line) {
    return path + ":" + std::to_string(line) + ": ";
}

// Splits one record. CSV follows RFC 4180 quoting, and a quoted field may span
// lines, so the reader hands over further lines on request.
template <typename NextLine>
std::vector<std::string> split_record(std::string line, char delimiter, bool quoting, NextLine && next_line,
                                      const std::string & path, size_t line_no) {
    std::vector<std::string> fields;
    std::string field;
    bool in_quotes = false;
    bool was_quoted = false;
    for (size_t i = 0;; ++i) {
        if (i == line.size()) {
            if (in_quotes) {
                std::string more;
                if (!next_line(more)) {
                    throw Error(where(path, line_no) + "unterminated quoted field");
                }
                field += '\n';
                line = std::move(more);
                i = static_cast<size_t>(-1);
                continue;
            }
            fields.push_back(field);
            return fields;
        }
        const char c = line[i];
        if (in_quotes) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                in_quotes = false;
            } else {
                field += c;
            }
        } else if (quoting && c == '"' && field.empty() && !was_quoted) {
            in_quotes = true;
            was_quoted = true;
        } else if (c == delimiter) {
            fields.push_back(field);
            field.clear();
            was_quoted = false;
        } else {
            field += c;
        }
    }
}

std::string json_value_text(const nlohmann::json & v) {
    if (v.is_string()) {
        return v.get<std::string>();
    }
    if (v.is_boolean()) {
        return v.get<bool>() ? "true" : "false";
    }
    return v.dump();
}

// One JSON object as a row of `table`; its keys are the columns when it is
// the first.
void add_object_row(Table & table, const nlohmann::json & j, size_t line) {
    const std::string at = where(table.path, line);
    if (!j.is_object()) {
        throw Error(at + "expected a JSON object");
    }
    if (table.columns.empty()) {
        for (const auto & [key, value] : j.items()) {
            table.columns.push_back(key);
        }
    }
    TableRow row{line, {}};
    for (const auto & column : table.columns) {
        if (!j.contains(column)) {
            throw Error(at + "missing field '" + column + "'");
        }
        const auto & v = j[column];
        if (v.is_object() || v.is_array() || v.is_null()) {
            throw Error(at + "field '" + column + "' must be a string, number or boolean");
        }
        row.values.push_back(json_value_text(v));
    }
    table.rows.push_back(std::move(row));
}

Table read_jsonl(const std::string & path, std::ifstream & in) {
    Table table;
    table.path = path;
    std::string text;
    size_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (text.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        if (!valid_utf8(text)) {
            throw Error(where(path, line) + "invalid UTF-8");
        }
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception &) {  // syntax, or a number too large for a double
            throw Error(where(path, line) + "invalid JSON");
        }
        add_object_row(table, j, line);
    }
    return table;
}

// The line on which each element of the top-level array starts, so that a
// row of a JSON file is named by its line as in the other formats.
std::vector<size_t> array_element_lines(const std::string & text) {
    std::vector<size_t> lines;
    size_t line = 1;
    int depth = 0;
    bool in_string = false;
    bool expecting = false;  // inside the top-level array, before an element
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\n') {
            ++line;
        }
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            continue;
        }
        if (depth == 1 && expecting) {
            lines.push_back(line);
            expecting = false;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            ++depth;
            expecting = depth == 1;
        } else if (c == ']' || c == '}') {
            --depth;
        } else if (c == ',' && depth == 1) {
            expecting = true;
        }
    }
    return lines;
}

Table read_json_array(const std::string & path, std::ifstream & in) {
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!valid_utf8(text)) {
        throw Error(path + ": invalid UTF-8");
    }
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error & e) {
        throw Error(path + ": invalid JSON at byte " + std::to_string(e.byte));
    } catch (const nlohmann::json::exception & e) {  // a number too large for a double
        throw Error(path + ": invalid JSON: " + e.what());
    }
    if (!j.is_array()) {
        std::string keys;
        if (j.is_object()) {
            for (const auto & [key, value] : j.items()) {
                keys += (keys.empty() ? "" : ", ") + key;
            }
        }
        throw Error(path + ": data.format json expects one array of objects; the file holds " +
                    (j.is_object() ? "an object (keys: " + keys + ")" : std::string(j.type_name())) +
                    (text.find("}\n{") != std::string::npos ? "; one object per line is data.format jsonl" : ""));
    }
    const auto lines = array_element_lines(text);
    Table table;
    table.path = path;
    for (size_t i = 0; i < j.size(); ++i) {
        add_object_row(table, j[i], i < lines.size() ? lines[i] : 0);
    }
    if (table.columns.empty()) {
        throw Error(path + ": empty data file");
    }
    return table;
}

// Spreadsheet programs save "CSV UTF-8" with a byte-order mark, which would
// otherwise become part of the first column's name.
void skip_byte_order_mark(std::ifstream & in) {
    std::array<char, 3> head{};
    if (!in.read(head.data(), 3) || head != std::array<char, 3>{'\xEF', '\xBB', '\xBF'}) {
        in.clear();
        in.seekg(0);
    }
}

}  // namespace

TableFormat table_format_from_name(const std::string & name) {
    if (name == "tsv") {
        return TableFormat::Tsv;
    }
    if (name == "csv") {
        return TableFormat::Csv;
    }
    if (name == "jsonl") {
        return TableFormat::Jsonl;
    }
    if (name == "json") {
        return TableFormat::Json;
    }
    throw Error("unknown data format '" + name + "' (tsv, csv, jsonl, json)");
}

TableFormat table_format_of_file(const std::string & path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".txt") {
        return TableFormat::Tsv;
    }
    try {
        return table_format_from_name(ext.empty() ? ext : ext.substr(1));
    } catch (const Error &) {
        throw Error(path + ": cannot tell the table's format from its name (.csv, .tsv, .jsonl or .json)");
    }
}

std::string trim_blanks(const std::string & text) {
    const auto b = text.find_first_not_of(" \t");
    const auto e = text.find_last_not_of(" \t");
    return b == std::string::npos ? "" : text.substr(b, e - b + 1);
}

size_t Table::column(const std::string & name) const {
    for (size_t i = 0; i < columns.size(); ++i) {
        if (columns[i] == name) {
            return i;
        }
    }
    throw Error(missing_column(name));
}

std::string Table::missing_column(const std::string & name) const {
    std::string known;
    for (const auto & c : columns) {
        known += (known.empty() ? "" : ", ") + c;
    }
    std::string hint;
    if (columns.size() == 1) {
        const std::string & header = columns.front();
        if (header.starts_with("{")) {
            hint = "; the file looks like JSON lines: is data.format jsonl?";
        } else if (header.starts_with("[")) {
            hint = "; the file looks like a JSON array: is data.format json?";
        } else if (header.find('\t') != std::string::npos) {
            hint = "; the header looks tab-separated: is data.format tsv?";
        } else if (header.find(',') != std::string::npos) {
            hint = "; the header looks comma-separated: is data.format csv?";
        } else if (header.find(';') != std::string::npos || header.find('|') != std::string::npos) {
            hint = "; the header looks separated by another character: set data.delimiter";
        }
    }
    return path + ": no column '" + name + "' (columns: " + known + ")" + hint;
}

Table read_table(const std::string & path, const TableOptions & options) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path + ": cannot open data file");
    }
    skip_byte_order_mark(in);
    if (options.format == TableFormat::Jsonl) {
        return read_jsonl(path, in);
    }
    if (options.format == TableFormat::Json) {
        return read_json_array(path, in);
    }
    const bool quoting = options.format == TableFormat::Csv;
    const char delimiter = options.delimiter != 0 ? options.delimiter : (quoting ? ',' : '\t');
    Table table;
    table.path = path;
    table.columns = options.columns;
    size_t line_no = 0;
    std::string line;
    auto next_line = [&](std::string & out) {
        if (!std::getline(in, out)) {
            return false;
        }
        ++line_no;
        if (!out.empty() && out.back() == '\r') {
            out.pop_back();
        }
        return true;
    };
    while (next_line(line)) {
        const size_t start_line = line_no;
        if (line.empty()) {
            continue;
        }
        auto fields = split_record(line, delimiter, quoting, next_line, path, start_line);
        for (size_t f = 0; f < fields.size(); ++f) {
            if (!valid_utf8(fields[f])) {
                const std::string name =
                    f < table.columns.size() ? "'" + table.columns[f] + "'" : std::to_string(f + 1);
                throw Error(where(path, start_line) + "invalid UTF-8 in field " + name);
            }
        }
        if (table.columns.empty()) {
            table.columns = std::move(fields);
            continue;
        }
        if (fields.size() != table.columns.size()) {
            throw Error(where(path, start_line) + "expected " + std::to_string(table.columns.size()) +
                        " fields, found " + std::to_string(fields.size()));
        }
        table.rows.push_back({start_line, std::move(fields)});
    }
    if (table.columns.empty()) {
        throw Error(path + ": empty data file");
    }
    return table;
}

}  // namespace compeval
