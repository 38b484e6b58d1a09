#include "tasks/task_items.hpp"

#include "tasks/derived_columns.hpp"
#include "util/error.hpp"

#include <algorithm>

namespace compeval {
namespace {

std::string row_where(const Table & table, const TableRow & row) {
    return table.path + ":" + std::to_string(row.line) + ": ";
}

// Columns the spec reads, so a missing one is reported before any scoring.
std::vector<std::string> required_columns(const TaskSpec & spec) {
    std::vector<std::string> cols;
    auto add = [&](const std::string & c) {
        if (!c.empty() && std::find(cols.begin(), cols.end(), c) == cols.end() && !spec.derives(c)) {
            cols.push_back(c);
        }
    };
    for (const auto & p : spec.prompts) {
        for (const auto * t : {&p.plain, &p.chat_user, &p.chat_system}) {
            for (const auto & f : t->fields()) {
                add(f);
            }
        }
    }
    for (const auto & f : spec.choice_template.fields()) {
        if (f != "choice") {
            add(f);
        }
    }
    for (const auto & c : spec.keep) {
        add(c);
    }
    add(spec.id_column);
    add(spec.label_column);
    add(spec.gold_column);
    add(spec.pair_by);
    add(spec.good_column);
    add(spec.bad_column);
    for (const auto & c : spec.choice_columns) {
        add(c);
    }
    return cols;
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

}  // namespace

std::vector<TaskItem> build_task_items(const TaskSpec & spec, Table table, const std::string & split) {
    add_derived_columns(spec.derive, split, table);
    for (const auto & c : required_columns(spec)) {
        table.column(c);  // throws naming the file and the missing column
    }
    std::vector<TaskItem> items;
    if (spec.mode == ScoringMode::RankingPairs) {
        // Group rows by key in order of first appearance; pair every positive
        // with every negative; alternate which comes first so position is no cue.
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
                    item.choices =
                        pos_first ? std::vector{pos_choice, neg_choice} : std::vector{neg_choice, pos_choice};
                    item.gold = pos_first ? 0 : 1;
                    items.push_back(std::move(item));
                }
            }
        }
        return items;
    }
    for (const auto & row : table.rows) {
        TaskItem item;
        item.fields = row_fields(table, row);
        item.split = split;
        item.line = row.line;
        item.id = item_id(spec, item.fields, split, row.line);
        const std::string where = row_where(table, row);
        switch (spec.mode) {
            case ScoringMode::LabelWords: {
                const auto & label = item.fields.at(spec.label_column);
                std::string known;
                for (size_t i = 0; i < spec.label_words.size(); ++i) {
                    item.choices.push_back(spec.label_words[i].second);
                    if (spec.label_words[i].first == label) {
                        item.gold = static_cast<int>(i);
                    }
                    known += i > 0 ? ", " : "";
                    known += spec.label_words[i].first;
                }
                if (std::none_of(spec.label_words.begin(), spec.label_words.end(),
                                 [&](const auto & lw) { return lw.first == label; })) {
                    throw Error(where + "field '" + spec.label_column + "': label '" + label + "' is not one of " +
                                known);
                }
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
                    throw Error(where + "field '" + spec.gold_column + "': gold '" + gold +
                                "' is not a choice index 0.." + std::to_string(item.choices.size() - 1));
                }
                break;
            }
            case ScoringMode::MinimalPair:
                item.choices = {item.fields.at(spec.good_column), item.fields.at(spec.bad_column)};
                item.gold = 0;
                break;
            case ScoringMode::RankingPairs:
                break;
        }
        for (size_t c = 0; c < item.choices.size(); ++c) {
            if (item.choices[c].empty()) {
                throw Error(where + "choice " + std::to_string(c) + " is empty");
            }
        }
        items.push_back(std::move(item));
    }
    return items;
}

std::vector<TaskItem> load_task_items(const TaskSpec & spec, const std::string & split, const std::string & path) {
    return build_task_items(spec, read_table(path, spec.table), split);
}

}  // namespace compeval
