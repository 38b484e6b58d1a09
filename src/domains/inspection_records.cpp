#include "domains/inspection_records.hpp"

#include "util/error.hpp"

#include <algorithm>

namespace compeval {
namespace {

// "DOMAIN: records.FIELD names column 'C': LOG: no column 'C' (columns: ...)".
size_t records_column(const DomainSpec & spec, const Table & table, const std::string & column,
                      const std::string & field) {
    if (std::find(table.columns.begin(), table.columns.end(), column) == table.columns.end()) {
        throw Error(spec.path + ": " + field + " names column '" + column + "': " + table.missing_column(column));
    }
    return table.column(column);
}

struct Columns {
    size_t outcome = 0;
    std::vector<size_t> slots;
    std::optional<size_t> date;
};

Columns find_columns(const DomainSpec & spec, const Table & table) {
    const RecordsSpec & r = *spec.records;
    Columns c;
    c.outcome = records_column(spec, table, r.outcome, "records.outcome");
    for (size_t s = 0; s < spec.slots.size(); ++s) {
        c.slots.push_back(records_column(spec, table, r.slot_columns[s],
                                         "the column of slot '" + spec.slots[s].first + "' (records.slots)"));
    }
    if (!r.date.empty()) {
        c.date = records_column(spec, table, r.date, "records.date");
    }
    return c;
}

// A value as one line of an error message.
std::string escaped(const std::string & value) {
    std::string out;
    for (const char c : value) {
        out += c == '\t'   ? std::string("\\t")
               : c == '\n' ? std::string("\\n")
               : c == '\r' ? std::string("\\r")
                           : std::string(1, c);
    }
    return out;
}

// One row read: its combination's values, outcome and date, or why it is bad.
struct RowReading {
    std::vector<std::string> values;
    std::string outcome;
    std::string date;
    std::string reason;  // "" when the row is good
    std::string cause;
};

RowReading read_row(const DomainSpec & spec, const Columns & columns, const TableRow & row) {
    RowReading r;
    auto bad = [&](const char * reason, const std::string & cause) {
        r.reason = reason;
        r.cause = cause;
        return r;
    };
    for (size_t s = 0; s < spec.slots.size(); ++s) {
        const auto & [slot, listed] = spec.slots[s];
        std::string value = trim_blanks(row.values[columns.slots[s]]);
        const std::string & column = spec.records->slot_columns[s];
        if (value.empty()) {
            return bad("empty_value", "empty " + slot + " (column '" + column + "')");
        }
        if (value.find_first_of("\t\r\n") != std::string::npos) {
            // The generated task's files are tab-separated, one row a line.
            return bad("bad_value",
                       slot + " '" + escaped(value) + "' (column '" + column + "') holds a tab or a line break");
        }
        if (!listed.empty() && std::find(listed.begin(), listed.end(), value) == listed.end()) {
            return bad("unknown_value", slot + " '" + value + "' (column '" + column +
                                            "') is not among the values the domain file lists for it");
        }
        for (const auto & table : spec.attribute_tables) {
            const auto attrs = spec.attributes.find(slot);
            if (table.slot == slot && (attrs == spec.attributes.end() || !attrs->second.contains(value))) {
                return bad("not_in_master", slot + " '" + value + "' is not in its master table " + table.file +
                                                " (column '" + table.key + "')");
            }
        }
        r.values.push_back(std::move(value));
    }
    r.outcome = trim_blanks(row.values[columns.outcome]);
    if (r.outcome.empty()) {
        return bad("empty_outcome", "empty outcome (column '" + spec.records->outcome + "')");
    }
    if (r.outcome.find_first_of("\t\r\n") != std::string::npos) {
        return bad("bad_value", "outcome '" + escaped(r.outcome) + "' (column '" + spec.records->outcome +
                                    "') holds a tab or a line break");
    }
    if (columns.date) {
        const std::string text = row.values[*columns.date];
        const auto date = parse_iso_date(text);
        if (!date) {
            return bad("bad_date",
                       "date '" + text + "' (column '" + spec.records->date + "') is not an ISO date (YYYY-MM-DD)");
        }
        r.date = *date;
    }
    return r;
}

// The majority (the first outcome in label-word order among the most
// frequent, as data.group_by breaks a tie) and whether it was a tie.
void set_majority(const DomainSpec & spec, DomainItem & item) {
    const auto top = std::max_element(item.outcome_counts.begin(), item.outcome_counts.end());
    item.label = spec.outcomes[static_cast<size_t>(top - item.outcome_counts.begin())];
    item.tie = std::count(item.outcome_counts.begin(), item.outcome_counts.end(), *top) > 1;
}

}  // namespace

DomainRecords read_domain_records(const DomainSpec & spec) {
    const RecordsSpec & r = *spec.records;
    Table table = read_table(r.file, r.table);
    DomainRecords out;
    auto & summary = out.summary;
    summary.rows_read = table.rows.size();
    const Columns columns = find_columns(spec, table);
    if (!r.where.empty()) {
        for (const auto & c : r.where) {
            records_column(spec, table, c.column, "records.where");
        }
        if (const size_t left = filter_rows(r.where, table); left > 0) {
            summary.rows_dropped["where"] = left;
        }
    }
    std::map<std::vector<std::string>, size_t> index;
    std::map<std::string, std::pair<size_t, size_t>> unknown_outcomes;  // outcome -> (first line, rows)
    for (const auto & row : table.rows) {
        const std::string at = table.path + ":" + std::to_string(row.line) + ": ";
        RowReading reading = read_row(spec, columns, row);
        if (!reading.reason.empty()) {
            if (!r.drop_bad_rows) {
                throw Error(at + reading.cause + " (records.on_bad_row: drop leaves such rows out and counts them)");
            }
            ++summary.rows_dropped[reading.reason];
            if (summary.dropped_examples.size() < 10) {
                summary.dropped_examples.push_back(at + reading.cause);
            }
            continue;
        }
        const auto outcome = std::find(spec.outcomes.begin(), spec.outcomes.end(), reading.outcome);
        if (outcome == spec.outcomes.end()) {
            auto & u = unknown_outcomes.try_emplace(reading.outcome, row.line, 0).first->second;
            ++u.second;
            continue;
        }
        auto [it, fresh] = index.emplace(reading.values, out.items.size());
        if (fresh) {
            DomainItem item;
            for (size_t s = 0; s < spec.slots.size(); ++s) {
                item.slots[spec.slots[s].first] = reading.values[s];
                item.atoms.push_back(spec.slots[s].first + "=" + reading.values[s]);
            }
            item.outcome_counts.assign(spec.outcomes.size(), 0);
            item.first_date = reading.date;
            out.items.push_back(std::move(item));
        }
        DomainItem & item = out.items[it->second];
        ++item.outcome_counts[static_cast<size_t>(outcome - spec.outcomes.begin())];
        ++item.rows;
        if (!reading.date.empty() && reading.date < item.first_date) {
            item.first_date = reading.date;
        }
        ++summary.rows_kept;
    }
    if (!unknown_outcomes.empty()) {
        const auto & [outcome, first] = *unknown_outcomes.begin();
        std::string known;
        for (const auto & o : spec.outcomes) {
            known += (known.empty() ? "" : ", ") + o;
        }
        throw Error(table.path + ":" + std::to_string(first.first) + ": outcome '" + outcome + "' (" +
                    std::to_string(first.second) + " rows" +
                    (unknown_outcomes.size() > 1
                         ? ", and " + std::to_string(unknown_outcomes.size() - 1) + " other unknown outcomes"
                         : std::string()) +
                    ") has no label word: add it to task.label_words in " + spec.path + " (outcomes: " + known + ")");
    }
    if (out.items.empty()) {
        throw Error(table.path + ": no row kept (" + std::to_string(summary.rows_read) + " read)");
    }
    for (auto & item : out.items) {
        set_majority(spec, item);
        summary.ties += item.tie ? 1 : 0;
        summary.disagreeing +=
            std::count_if(item.outcome_counts.begin(), item.outcome_counts.end(), [](size_t n) { return n > 0; }) > 1
                ? 1
                : 0;
    }
    summary.combinations = out.items.size();
    return out;
}

}  // namespace compeval
