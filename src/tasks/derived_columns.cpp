#include "tasks/derived_columns.hpp"

#include "util/error.hpp"

#include <algorithm>
#include <charconv>
#include <regex>

namespace compeval {
namespace {

bool ends_with(const std::string & s, const std::string & suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string row_where(const Table & table, const TableRow & row) {
    return table.path + ":" + std::to_string(row.line) + ": ";
}

std::map<std::string, std::string> fields_of(const Table & table, const TableRow & row) {
    std::map<std::string, std::string> fields;
    for (size_t c = 0; c < table.columns.size(); ++c) {
        fields[table.columns[c]] = row.values[c];
    }
    return fields;
}

}  // namespace

bool parse_number(const std::string & text, double & value) {
    const char * end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    return ec == std::errc() && ptr == end && !text.empty();
}

bool ScoreBin::contains(double score) const {
    if (op == "<") {
        return score < bound;
    }
    if (op == "<=") {
        return score <= bound;
    }
    if (op == ">") {
        return score > bound;
    }
    return score >= bound;
}

const std::vector<ScoreBin> & DerivedColumn::bins_for(const std::string & split) const {
    const auto it = split_bins.find(split);
    return it == split_bins.end() ? bins : it->second;
}

ScoreBin parse_score_bin(const std::string & label, const std::string & condition) {
    static const std::regex pattern(R"(^\s*(<=|>=|<|>)\s*(\S+)\s*$)");
    std::smatch m;
    ScoreBin bin;
    bin.label = label;
    if (!std::regex_match(condition, m, pattern) || !parse_number(m[2].str(), bin.bound)) {
        throw Error("condition '" + condition + "' for '" + label + "' must be '<', '<=', '>' or '>=' and a number");
    }
    bin.op = m[1].str();
    return bin;
}

size_t add_derived_columns(const std::vector<DerivedColumn> & derived, const std::string & split, Table & table) {
    size_t dropped = 0;
    for (const auto & d : derived) {
        if (std::find(table.columns.begin(), table.columns.end(), d.name) != table.columns.end()) {
            throw Error(table.path + ": derived column '" + d.name + "' is already a column of the data");
        }
        if (d.kind == DerivedColumn::Kind::PlaneInferenceType) {
            for (const char * c : {"text", "noun", "adjective", "hypernym"}) {
                table.column(c);  // throws naming the file and the missing column
            }
        }
        const size_t from = d.kind == DerivedColumn::Kind::ScoreBins ? table.column(d.from) : 0;
        const auto & bins = d.bins_for(split);
        std::vector<TableRow> kept;
        kept.reserve(table.rows.size());
        for (auto & row : table.rows) {
            std::string value;
            if (d.kind == DerivedColumn::Kind::PlaneInferenceType) {
                const auto fields = fields_of(table, row);
                value = plane_inference_type(fields);
                if (value.empty()) {
                    throw Error(row_where(table, row) + "field 'text': cannot tell the PLANE inference type of \"" +
                                fields.at("text") + "\"");
                }
            } else {
                double score = 0;
                if (!parse_number(row.values[from], score)) {
                    throw Error(row_where(table, row) + "field '" + d.from + "': '" + row.values[from] +
                                "' is not a number");
                }
                for (const auto & bin : bins) {
                    if (bin.contains(score)) {
                        value = bin.label;
                        break;
                    }
                }
                if (value.empty()) {
                    ++dropped;
                    continue;
                }
            }
            row.values.push_back(std::move(value));
            kept.push_back(std::move(row));
        }
        table.rows = std::move(kept);
        table.columns.push_back(d.name);
    }
    return dropped;
}

std::string plane_inference_type(const std::map<std::string, std::string> & fields) {
    const auto get = [&](const char * k) {
        const auto it = fields.find(k);
        return it == fields.end() ? std::string() : it->second;
    };
    const std::string text = get("text");
    // Built with += : GCC 12 warns falsely (-Wrestrict) on " " + std::string.
    auto word = [](const std::string & w) {
        std::string out(" ");
        out += w;
        return out;
    };
    std::string adjective_hypernym = word(get("adjective"));
    adjective_hypernym += word(get("hypernym"));
    if (ends_with(text, adjective_hypernym)) {
        return "AN=>A-H";
    }
    if (ends_with(text, word(get("hypernym")))) {
        return "AN=>H";
    }
    if (ends_with(text, word(get("noun")))) {
        return "AN=>N";
    }
    return "";
}

}  // namespace compeval
