// Master tables: the attributes of each part or material kept in a table of
// their own, one row per value, read into the domain's attribute map so that
// rules (`material.kind`), prompts (`{{material.kind}}`) and the report's
// breakdown by attribute value all read them.
#include "domains/domain_spec.hpp"
#include "util/error.hpp"

#include <filesystem>

namespace compeval {
namespace {

void load_table(DomainSpec & spec, const AttributeTable & source) {
    const std::string at = spec.path + ":" + std::to_string(source.line) + ": ";
    if (!std::filesystem::is_regular_file(source.file)) {
        throw Error(at + "master table " + source.file + " of slot '" + source.slot + "' not found");
    }
    const Table table = read_table(source.file, {table_format_of_file(source.file), {}, 0});
    const size_t key = table.column(source.key);
    auto & values = spec.attributes[source.slot];
    std::map<std::string, size_t> lines;
    for (const auto & row : table.rows) {
        const std::string where = table.path + ":" + std::to_string(row.line) + ": ";
        const std::string value = trim_blanks(row.values[key]);
        if (value.empty()) {
            throw Error(where + "empty key (column '" + source.key + "')");
        }
        if (const auto [it, fresh] = lines.emplace(value, row.line); !fresh) {
            throw Error(where + "'" + value + "' is already the key of line " + std::to_string(it->second));
        }
        auto & attributes = values[value];
        for (size_t c = 0; c < table.columns.size(); ++c) {
            if (c != key) {
                attributes[table.columns[c]] = trim_blanks(row.values[c]);
            }
        }
    }
}

}  // namespace

void load_attribute_tables(DomainSpec & spec) {
    for (const auto & source : spec.attribute_tables) {
        load_table(spec, source);
        // Listed values must each have their row; observed ones are checked
        // row by row as the records are read.
        for (const auto & [slot, values] : spec.slots) {
            if (slot != source.slot) {
                continue;
            }
            for (const auto & v : values) {
                if (!spec.attributes[slot].contains(v)) {
                    throw Error(spec.path + ":" + std::to_string(spec.slot_lines[slot]) + ": slot '" + slot +
                                "' lists '" + v + "', which is not in its master table " + source.file + " (column '" +
                                source.key + "')");
                }
            }
        }
    }
}

}  // namespace compeval
