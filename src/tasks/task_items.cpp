#include "tasks/task_items.hpp"

#include "tasks/derived_columns.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <set>

namespace compeval {
namespace {

std::string row_where(const Table & table, const TableRow & row) {
    return table.path + ":" + std::to_string(row.line) + ": ";
}

struct ColumnUse {
    std::string column;
    std::string field;  // the task file's field that names it
};

// Columns the spec reads, so a missing one is reported before any scoring.
std::vector<ColumnUse> required_columns(const TaskSpec & spec) {
    std::vector<ColumnUse> cols;
    auto add = [&](const std::string & c, const std::string & field) {
        if (!c.empty() && !spec.derives(c) &&
            std::none_of(cols.begin(), cols.end(), [&](const ColumnUse & u) { return u.column == c; })) {
            cols.push_back({c, field});
        }
    };
    for (const auto & p : spec.prompts) {
        const std::string field = "prompts[" + p.name + "].";
        for (const auto & f : p.plain.fields()) {
            add(f, field + "plain");
        }
        for (const auto & f : p.chat_user.fields()) {
            add(f, field + "chat.user");
        }
        for (const auto & f : p.chat_system.fields()) {
            add(f, field + "chat.system");
        }
    }
    for (const auto & f : spec.choice_template.fields()) {
        if (f != "choice") {
            add(f, "scoring.choice");
        }
    }
    for (const auto & c : spec.keep) {
        add(c, "data.keep");
    }
    for (const auto & c : spec.group_by) {
        add(c, "data.group_by");
    }
    add(spec.id_column, "data.id");
    add(spec.label_column, "scoring.label");
    add(spec.gold_column, "scoring.gold");
    add(spec.pair_by, "scoring.pair_by");
    add(spec.good_column, "scoring.good");
    add(spec.bad_column, "scoring.bad");
    add(spec.first_column, "scoring.first");
    add(spec.second_column, "scoring.second");
    for (const auto & c : spec.choice_columns) {
        add(c, "scoring.choices");
    }
    return cols;
}

// "TASK:LINE: field 'F' needs column 'C': DATA: no column 'C' (columns: ...)".
void require_column(const TaskSpec & spec, const Table & table, const std::string & column, const std::string & field,
                    int line) {
    if (std::find(table.columns.begin(), table.columns.end(), column) == table.columns.end()) {
        throw Error(spec.path + ":" + (line > 0 ? std::to_string(line) + ":" : "") + " field '" + field +
                    "' needs column '" + column + "': " + table.missing_column(column));
    }
}

int line_of(const TaskSpec & spec, const std::string & field) {
    const auto it = spec.lines.find(field);
    return it == spec.lines.end() ? 0 : it->second;
}

std::map<std::string, std::string> row_fields(const Table & table, const TableRow & row) {
    std::map<std::string, std::string> fields;
    for (size_t c = 0; c < table.columns.size(); ++c) {
        fields[table.columns[c]] = row.values[c];
    }
    return fields;
}

std::string item_id(const TaskSpec & spec, const std::map<std::string, std::string> & fields, const std::string & split,
                    size_t line) {
    return spec.id_column.empty() ? split + ":" + std::to_string(line) : fields.at(spec.id_column);
}

std::string listed(const std::vector<std::string> & values) {
    std::string out;
    for (const auto & v : values) {
        out += (out.empty() ? "" : ", ") + v;
    }
    return out;
}

// Every positive row against every negative row of its key, in order of first
// appearance; which comes first alternates so position is no cue.
std::vector<TaskItem> ranking_pair_items(const TaskSpec & spec, const Table & table, const std::string & split) {
    std::vector<std::string> order;
    std::map<std::string, std::pair<std::vector<const TableRow *>, std::vector<const TableRow *>>> groups;
    const size_t key_col = table.column(spec.pair_by);
    const size_t label_col = table.column(spec.label_column);
    for (const auto & row : table.rows) {
        const auto & key = row.values[key_col];
        if (!groups.contains(key)) {
            order.push_back(key);
        }
        auto & g = groups[key];
        (row.values[label_col] == spec.positive_label ? g.first : g.second).push_back(&row);
    }
    std::vector<TaskItem> items;
    size_t pair_index = 0;
    for (const auto & key : order) {
        for (const auto * pos : groups[key].first) {
            for (const auto * neg : groups[key].second) {
                TaskItem item;
                item.fields = row_fields(table, *pos);
                item.split = split;
                item.line = pos->line;
                item.id = item_id(spec, item.fields, split, pos->line) + "~" + std::to_string(neg->line);
                const auto pos_choice = spec.choice_template.render(item.fields);
                const auto neg_choice = spec.choice_template.render(row_fields(table, *neg));
                const bool pos_first = pair_index++ % 2 == 0;
                item.choices = pos_first ? std::vector{pos_choice, neg_choice} : std::vector{neg_choice, pos_choice};
                item.gold = pos_first ? 0 : 1;
                item.stratum = std::to_string(item.gold);
                items.push_back(std::move(item));
            }
        }
    }
    return items;
}

// One row's item under every mode but ranking pairs.
TaskItem row_item(const TaskSpec & spec, const Table & table, const TableRow & row, const std::string & split) {
    TaskItem item;
    item.fields = row_fields(table, row);
    item.split = split;
    item.line = row.line;
    item.id = item_id(spec, item.fields, split, row.line);
    const std::string where = row_where(table, row);
    auto gold_of = [&](const std::vector<std::string> & labels) {
        const auto & label = item.fields.at(spec.label_column);
        const auto it = std::find(labels.begin(), labels.end(), label);
        if (it == labels.end()) {
            throw Error(where + "field '" + spec.label_column + "': label '" + label + "' is not one of " +
                        listed(labels));
        }
        item.stratum = label;
        return static_cast<int>(it - labels.begin());
    };
    switch (spec.mode) {
        case ScoringMode::LabelWords: {
            std::vector<std::string> labels;
            for (const auto & [label, answer] : spec.label_words) {
                labels.push_back(label);
                item.choices.push_back(answer);
            }
            item.gold = gold_of(labels);
            break;
        }
        case ScoringMode::MultipleChoice: {
            for (const auto & col : spec.choice_columns) {
                auto fields = item.fields;
                fields["choice"] = item.fields.at(col);
                item.choices.push_back(spec.choice_template.render(fields));
            }
            const auto & gold = item.fields.at(spec.gold_column);
            try {
                item.gold = std::stoi(gold);
            } catch (const std::exception &) {
                item.gold = -1;
            }
            if (item.gold < 0 || item.gold >= static_cast<int>(item.choices.size())) {
                throw Error(where + "field '" + spec.gold_column + "': gold '" + gold + "' is not a choice index 0.." +
                            std::to_string(item.choices.size() - 1));
            }
            item.stratum = gold;
            break;
        }
        case ScoringMode::MinimalPair:
            item.choices = {item.fields.at(spec.good_column), item.fields.at(spec.bad_column)};
            item.gold = 0;
            break;
        case ScoringMode::PairComparison: {
            item.choices = {item.fields.at(spec.first_column), item.fields.at(spec.second_column)};
            item.outcomes = {spec.first_label, spec.second_label};
            if (!spec.equal_label.empty()) {
                item.outcomes.push_back(spec.equal_label);
            }
            item.gold = gold_of(item.outcomes);
            break;
        }
        case ScoringMode::RankingPairs:
            break;
    }
    for (size_t c = 0; c < item.choices.size(); ++c) {
        if (item.choices[c].empty()) {
            throw Error(where + "choice " + std::to_string(c) + " is empty");
        }
    }
    return item;
}

// One item per group: the first row's fields and choices, the rows' majority
// answer as gold (the earlier outcome on a tie) and their counts as the human
// distribution. Rows of a group must agree on everything the prompt and the
// choices read; otherwise the item would depend on which row came first.
std::vector<TaskItem> group_items(const TaskSpec & spec, const std::string & path, std::vector<TaskItem> rows) {
    std::set<std::string> prompt_columns;
    for (const auto & use : required_columns(spec)) {
        if (use.field.starts_with("prompts[") || use.field == "scoring.choice" || use.field == "scoring.choices" ||
            use.field == "scoring.first" || use.field == "scoring.second" || use.field == "data.group_by") {
            prompt_columns.insert(use.column);
        }
    }
    std::vector<TaskItem> items;
    std::map<std::string, size_t> index;
    for (auto & row : rows) {
        std::string key;
        for (const auto & c : spec.group_by) {
            key += (key.empty() ? "" : " ") + row.fields.at(c);
        }
        const auto found = index.find(key);
        if (found == index.end()) {
            index[key] = items.size();
            row.human.assign(row.outcome_texts().size(), 0.0);
            row.human[static_cast<size_t>(row.gold)] = 1;
            if (spec.id_column.empty()) {
                row.id = key;
            }
            items.push_back(std::move(row));
            continue;
        }
        TaskItem & item = items[found->second];
        for (const auto & c : prompt_columns) {
            if (row.fields.at(c) != item.fields.at(c)) {
                throw Error(path + ":" + std::to_string(row.line) + ": group '" + key + "' (data.group_by) has '" +
                            row.fields.at(c) + "' in column '" + c + "' where its line " + std::to_string(item.line) +
                            " has '" + item.fields.at(c) + "': the prompt and choices must be the same for a group");
            }
        }
        item.human[static_cast<size_t>(row.gold)] += 1;
        ++item.rows;
    }
    for (auto & item : items) {
        item.gold = static_cast<int>(std::max_element(item.human.begin(), item.human.end()) - item.human.begin());
        item.stratum = item.outcome_texts()[static_cast<size_t>(item.gold)];
    }
    return items;
}

}  // namespace

std::vector<TaskItem> build_task_items(const TaskSpec & spec, Table table, const std::string & split) {
    add_derived_columns(spec.derive, split, table);
    for (const auto & use : required_columns(spec)) {
        require_column(spec, table, use.column, use.field, line_of(spec, use.field));
    }
    for (const auto & c : spec.where) {
        require_column(spec, table, c.column, "data.where." + c.column, c.line);
    }
    const size_t read = table.rows.size();
    if (filter_rows(spec.where, table) == read && read > 0) {
        throw Error(spec.path + ":" + std::to_string(spec.where.front().line) + ": data.where keeps none of the " +
                    std::to_string(read) + " rows of " + table.path);
    }
    std::vector<TaskItem> items;
    if (spec.mode == ScoringMode::RankingPairs) {
        items = ranking_pair_items(spec, table, split);
    } else {
        for (const auto & row : table.rows) {
            items.push_back(row_item(spec, table, row, split));
        }
        if (!spec.group_by.empty()) {
            items = group_items(spec, table.path, std::move(items));
        }
    }
    std::map<std::string, size_t> seen;  // id -> line
    for (const auto & item : items) {
        const auto [it, fresh] = seen.emplace(item.id, item.line);
        if (!fresh) {
            throw Error(table.path + ":" + std::to_string(item.line) + ": item id '" + item.id +
                        "' is already the id of line " + std::to_string(it->second) +
                        (spec.id_column.empty() ? "" : " (ids come from column '" + spec.id_column + "')"));
        }
    }
    return items;
}

std::vector<TaskItem> load_task_items(const TaskSpec & spec, const std::string & split, const std::string & path) {
    return build_task_items(spec, read_table(path, spec.table), split);
}

std::vector<TaskItem> load_fewshot_items(const TaskSpec & spec) {
    Table table = read_table(spec.fewshot_path, spec.fewshot_own_table ? spec.fewshot_table : spec.table);
    // fewshot.where names the pool file's own columns, before fewshot.map renames them.
    for (const auto & c : spec.fewshot_where) {
        require_column(spec, table, c.column, "fewshot.where." + c.column, c.line);
    }
    filter_rows(spec.fewshot_where, table);
    for (const auto & [task_column, pool_column] : spec.fewshot_columns) {
        const auto it = std::find(table.columns.begin(), table.columns.end(), pool_column);
        if (it == table.columns.end()) {
            throw Error(spec.path + ": fewshot.map takes '" + task_column + "' from column '" + pool_column +
                        "': " + table.missing_column(pool_column));
        }
        *it = task_column;
    }
    const std::string & label_column = spec.gold_column.empty() ? spec.label_column : spec.gold_column;
    if (!spec.fewshot_labels.empty()) {
        const size_t col = table.column(label_column);
        for (auto & row : table.rows) {
            for (const auto & [from, to] : spec.fewshot_labels) {
                if (row.values[col] == from) {
                    row.values[col] = to;
                    break;
                }
            }
        }
    }
    TaskSpec pool = spec;
    pool.id_column.clear();  // shots are never reported; a pool may repeat ids
    if (spec.fewshot_own_table) {
        // A layout of its own: the test files' filters, groups and derived
        // columns need not fit it.
        pool.where.clear();
        pool.group_by.clear();
        pool.derive.clear();
    }
    if (spec.fewshot_own_where) {
        pool.where.clear();  // applied above
    }
    return build_task_items(pool, std::move(table), "fewshot");
}

void check_task_data(const TaskSpec & spec) {
    for (const auto & [split, path] : spec.splits) {
        load_task_items(spec, split, path);
    }
    if (spec.fewshot_k > 0) {
        const auto pool = load_fewshot_items(spec);
        if (pool.size() <= static_cast<size_t>(spec.fewshot_k)) {
            throw Error(spec.fewshot_path + ": few-shot pool has " + std::to_string(pool.size()) +
                        " items; k = " + std::to_string(spec.fewshot_k) + " needs more");
        }
    }
}

}  // namespace compeval
