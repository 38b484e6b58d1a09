#include "tasks/task_spec.hpp"

#include "util/error.hpp"
#include "util/yaml_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <set>

namespace compeval {
namespace {

class SpecReader {
  public:
    explicit SpecReader(std::string path) : path_(std::move(path)) {}

    [[noreturn]] void fail(const YAML::Node & node, const std::string & message) const {
        const int line = node.IsDefined() ? node.Mark().line + 1 : 0;
        throw Error(path_ + ":" + (line > 0 ? std::to_string(line) + ": " : " ") + message);
    }

    YAML::Node required(const YAML::Node & parent, const std::string & key, const std::string & where) const {
        const YAML::Node node = parent[key];
        if (!node) {
            fail(parent, "missing field '" + where + key + "'");
        }
        return node;
    }

    std::string string(const YAML::Node & node, const std::string & name) const {
        if (!node.IsScalar()) {
            fail(node, "field '" + name + "' must be a string");
        }
        return node.as<std::string>();
    }

    std::vector<std::string> strings(const YAML::Node & node, const std::string & name) const {
        if (!node.IsSequence()) {
            fail(node, "field '" + name + "' must be a list of strings");
        }
        std::vector<std::string> out;
        for (const auto & item : node) {
            out.push_back(string(item, name));
        }
        return out;
    }

    int integer(const YAML::Node & node, const std::string & name) const {
        try {
            return node.as<int>();
        } catch (const YAML::Exception &) {
            fail(node, "field '" + name + "' must be an integer");
        }
    }

    PromptTemplate prompt(const YAML::Node & node, const std::string & name) const {
        try {
            return PromptTemplate(string(node, name));
        } catch (const Error & e) {
            fail(node, "field '" + name + "': " + e.what());
        }
    }

    std::vector<ScoreBin> score_bins(const YAML::Node & node, const std::string & name) const {
        if (!node.IsMap() || node.size() == 0) {
            fail(node, "field '" + name + "' must map labels to conditions such as \"< 3.5\"");
        }
        std::vector<ScoreBin> bins;
        for (const auto & kv : node) {
            try {
                bins.push_back(parse_score_bin(kv.first.as<std::string>(), string(kv.second, name)));
            } catch (const Error & e) {
                fail(kv.second, "field '" + name + "': " + e.what());
            }
        }
        return bins;
    }

    // `column: plane_inference_type`, or `column: {from: SCORE, bins: {...},
    // split_bins: {SPLIT: {...}}}`.
    DerivedColumn derived_column(const std::string & column, const YAML::Node & node) const {
        DerivedColumn d;
        d.name = column;
        if (node.IsScalar()) {
            if (node.as<std::string>() != "plane_inference_type") {
                fail(node, "unknown derivation '" + node.as<std::string>() +
                               "' (plane_inference_type, or a mapping with from/bins)");
            }
            return d;
        }
        if (!node.IsMap()) {
            fail(node, "field 'data.derive." + column + "' must be plane_inference_type or a mapping with from/bins");
        }
        d.kind = DerivedColumn::Kind::ScoreBins;
        const std::string where = "data.derive." + column + ".";
        d.from = string(required(node, "from", where), where + "from");
        d.bins = score_bins(required(node, "bins", where), where + "bins");
        if (const YAML::Node splits = node["split_bins"]) {
            if (!splits.IsMap()) {
                fail(splits, "field '" + where + "split_bins' must map split names to bins");
            }
            for (const auto & kv : splits) {
                const auto split = kv.first.as<std::string>();
                d.split_bins[split] = score_bins(kv.second, where + "split_bins." + split);
            }
        }
        return d;
    }

    void keys(const YAML::Node & map, const std::vector<std::string> & known, const std::string & where) const {
        check_keys(map, known, path_, where);
    }

    double number(const YAML::Node & node, const std::string & name) const {
        try {
            return node.as<double>();
        } catch (const YAML::Exception &) {
            fail(node, "field '" + name + "' must be a number");
        }
    }

    std::vector<RowCondition> conditions(const YAML::Node & node, const std::string & name) const {
        return read_row_conditions(node, path_, name);
    }

    // A table layout: data.format, data.columns, data.delimiter (or fewshot's).
    TableOptions table(const YAML::Node & node, const std::string & where) const {
        TableOptions t;
        const std::string format = string(required(node, "format", where), where + "format");
        try {
            t.format = table_format_from_name(format);
        } catch (const Error & e) {
            fail(node["format"], e.what());
        }
        if (node["columns"]) {
            t.columns = strings(node["columns"], where + "columns");
        }
        if (node["delimiter"]) {
            const auto d = string(node["delimiter"], where + "delimiter");
            t.delimiter = d == "\\t" ? '\t' : (d.empty() ? '\0' : d[0]);
        }
        return t;
    }

    // `label_words:`-like maps: each key once (as text), at least `min` entries.
    std::vector<std::pair<std::string, std::string>> text_map(const YAML::Node & node, const std::string & name,
                                                              size_t min, const std::string & shape) const {
        if (!node.IsMap() || node.size() < min) {
            fail(node, "field '" + name + "' must " + shape);
        }
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto & kv : node) {
            out.emplace_back(kv.first.as<std::string>(), string(kv.second, name));
        }
        return out;
    }

  private:
    std::string path_;
};

std::string expand_data_dir(std::string path, const std::string & data_dir) {
    const std::string key = "{data_dir}";
    const auto pos = path.find(key);
    if (pos != std::string::npos) {
        path.replace(pos, key.size(), data_dir);
    }
    return path;
}

}  // namespace

const std::vector<std::string> & known_metrics() {
    static const std::vector<std::string> metrics = {"acc", "acc_norm_tok", "acc_norm_char", "acc_calibrated"};
    return metrics;
}

bool TaskSpec::derives(const std::string & column) const {
    return std::any_of(derive.begin(), derive.end(), [&](const DerivedColumn & d) { return d.name == column; });
}

namespace {

TaskSpec read_task_spec(const std::string & path, const std::string & data_dir) {
    const YAML::Node root = load_yaml_file(path, "task");
    SpecReader r(path);
    if (!root.IsMap()) {
        r.fail(root, "a task file must be a mapping");
    }
    r.keys(root, {"name", "category", "description", "data", "fewshot", "scoring", "metrics", "prompts"}, "");
    TaskSpec spec;
    spec.path = path;
    auto note = [&](const std::string & field, const YAML::Node & node) { spec.lines[field] = node.Mark().line + 1; };
    spec.name = r.string(r.required(root, "name", ""), "name");
    spec.category = root["category"] ? r.string(root["category"], "category") : "";
    spec.description = root["description"] ? r.string(root["description"], "description") : "";

    const YAML::Node data = r.required(root, "data", "");
    r.keys(data, {"format", "columns", "delimiter", "splits", "id", "keep", "derive", "where", "group_by"}, "data");
    spec.table = r.table(data, "data.");
    const YAML::Node splits = r.required(data, "splits", "data.");
    if (!splits.IsMap() || splits.size() == 0) {
        r.fail(splits, "field 'data.splits' must map split names to file paths");
    }
    for (const auto & kv : splits) {
        spec.splits.emplace_back(kv.first.as<std::string>(),
                                 expand_data_dir(r.string(kv.second, "data.splits"), data_dir));
    }
    if (data["id"]) {
        spec.id_column = r.string(data["id"], "data.id");
        note("data.id", data["id"]);
    }
    if (data["keep"]) {
        spec.keep = r.strings(data["keep"], "data.keep");
        note("data.keep", data["keep"]);
    }
    if (data["derive"]) {
        if (!data["derive"].IsMap()) {
            r.fail(data["derive"], "field 'data.derive' must map column names to derivations");
        }
        for (const auto & kv : data["derive"]) {
            if (kv.second.IsMap()) {
                r.keys(kv.second, {"from", "bins", "split_bins"}, "data.derive." + kv.first.as<std::string>());
            }
            spec.derive.push_back(r.derived_column(kv.first.as<std::string>(), kv.second));
            for (const auto & entry : spec.derive.back().split_bins) {
                const std::string & split = entry.first;
                if (std::none_of(spec.splits.begin(), spec.splits.end(),
                                 [&](const auto & s) { return s.first == split; })) {
                    r.fail(kv.second["split_bins"], "split_bins names '" + split + "', which is not a data split");
                }
            }
        }
    }
    if (data["where"]) {
        spec.where = r.conditions(data["where"], "data.where");
    }
    if (const YAML::Node group = data["group_by"]) {
        spec.group_by =
            group.IsSequence() ? r.strings(group, "data.group_by") : std::vector{r.string(group, "data.group_by")};
        note("data.group_by", group);
    }

    if (const YAML::Node fewshot = root["fewshot"]) {
        r.keys(fewshot, {"k", "path", "seed", "separator", "format", "columns", "delimiter", "map", "labels", "where"},
               "fewshot");
        spec.fewshot_k = r.integer(r.required(fewshot, "k", "fewshot."), "fewshot.k");
        if (spec.fewshot_k < 0) {
            r.fail(fewshot["k"], "field 'fewshot.k' must be >= 0");
        }
        if (spec.fewshot_k > 0) {
            spec.fewshot_path =
                expand_data_dir(r.string(r.required(fewshot, "path", "fewshot."), "fewshot.path"), data_dir);
        }
        if (fewshot["seed"]) {
            spec.fewshot_seed = static_cast<uint64_t>(r.integer(fewshot["seed"], "fewshot.seed"));
        }
        if (fewshot["separator"]) {
            spec.fewshot_separator = r.string(fewshot["separator"], "fewshot.separator");
        }
        if (fewshot["format"]) {
            spec.fewshot_own_table = true;
            spec.fewshot_table = r.table(fewshot, "fewshot.");
        } else if (fewshot["columns"] || fewshot["delimiter"]) {
            r.fail(fewshot,
                   "fewshot.columns and fewshot.delimiter describe a layout of the pool's own: give "
                   "fewshot.format too");
        }
        if (fewshot["map"]) {
            spec.fewshot_columns = r.text_map(fewshot["map"], "fewshot.map", 1, "map task columns to pool columns");
        }
        if (fewshot["labels"]) {
            spec.fewshot_labels =
                r.text_map(fewshot["labels"], "fewshot.labels", 1, "map the pool's label values to the task's");
        }
        if (fewshot["where"]) {
            spec.fewshot_own_where = true;
            spec.fewshot_where = r.conditions(fewshot["where"], "fewshot.where");
        }
    }

    const YAML::Node scoring = r.required(root, "scoring", "");
    auto column = [&](const char * key) {
        const std::string field = std::string("scoring.") + key;
        const YAML::Node node = r.required(scoring, key, "scoring.");
        note(field, node);
        return r.string(node, field);
    };
    const std::string mode = r.string(r.required(scoring, "mode", "scoring."), "scoring.mode");
    std::vector<std::string> known_keys = {"mode", "choice", "calibration", "answer", "generate", "top_logprobs"};
    if (mode == "label_words") {
        spec.mode = ScoringMode::LabelWords;
        known_keys.insert(known_keys.end(), {"label", "label_words"});
        spec.label_column = column("label");
        const YAML::Node words = r.required(scoring, "label_words", "scoring.");
        spec.label_words = r.text_map(words, "scoring.label_words", 2, "map at least two label values to answer words");
        std::set<std::string> answers;
        for (const auto & [label, answer] : spec.label_words) {
            if (!answers.insert(answer).second) {
                r.fail(words, "field 'scoring.label_words' gives the answer '" + answer +
                                  "' to two labels: the choices must differ");
            }
        }
    } else if (mode == "multiple_choice") {
        spec.mode = ScoringMode::MultipleChoice;
        known_keys.insert(known_keys.end(), {"choices", "gold"});
        spec.choice_columns = r.strings(r.required(scoring, "choices", "scoring."), "scoring.choices");
        note("scoring.choices", scoring["choices"]);
        spec.gold_column = column("gold");
    } else if (mode == "ranking_pairs") {
        spec.mode = ScoringMode::RankingPairs;
        known_keys.insert(known_keys.end(), {"label", "pair_by", "positive"});
        spec.label_column = column("label");
        spec.pair_by = column("pair_by");
        spec.positive_label = r.string(r.required(scoring, "positive", "scoring."), "scoring.positive");
    } else if (mode == "minimal_pair") {
        spec.mode = ScoringMode::MinimalPair;
        known_keys.insert(known_keys.end(), {"good", "bad"});
        spec.good_column = column("good");
        spec.bad_column = column("bad");
    } else if (mode == "pair_comparison") {
        spec.mode = ScoringMode::PairComparison;
        known_keys.insert(known_keys.end(),
                          {"first", "second", "label", "first_wins", "second_wins", "equal", "margin"});
        spec.first_column = column("first");
        spec.second_column = column("second");
        spec.label_column = column("label");
        spec.first_label = r.string(r.required(scoring, "first_wins", "scoring."), "scoring.first_wins");
        spec.second_label = r.string(r.required(scoring, "second_wins", "scoring."), "scoring.second_wins");
        if (scoring["equal"]) {
            spec.equal_label = r.string(scoring["equal"], "scoring.equal");
            spec.margin = r.number(r.required(scoring, "margin", "scoring."), "scoring.margin");
            if (spec.margin <= 0) {
                r.fail(scoring["margin"], "field 'scoring.margin' must be > 0: scores this close predict 'equal'");
            }
        } else if (scoring["margin"]) {
            r.fail(scoring["margin"], "field 'scoring.margin' needs scoring.equal, the label of a pair with no winner");
        }
        if (spec.first_label == spec.second_label || spec.first_label == spec.equal_label ||
            spec.second_label == spec.equal_label) {
            r.fail(scoring, "scoring.first_wins, second_wins and equal must be three different labels");
        }
        if (spec.fewshot_k > 0) {
            r.fail(root["fewshot"], "a pair comparison has no answer text for few-shot examples");
        }
    } else {
        r.fail(scoring["mode"], "unknown scoring mode '" + mode +
                                    "' (label_words, multiple_choice, ranking_pairs, minimal_pair, pair_comparison)");
    }
    r.keys(scoring, known_keys, "scoring (mode " + mode + ")");
    if (scoring["choice"]) {
        spec.choice_template = r.prompt(scoring["choice"], "scoring.choice");
        note("scoring.choice", scoring["choice"]);
    } else {
        spec.choice_template = PromptTemplate(" {{choice}}");
    }
    if (scoring["calibration"]) {
        spec.calibration_context = r.string(scoring["calibration"], "scoring.calibration");
    }
    if (scoring["answer"]) {
        try {
            spec.answer.route = parse_answer_route(r.string(scoring["answer"], "scoring.answer"));
        } catch (const Error & e) {
            r.fail(scoring["answer"], std::string("field 'scoring.answer': ") + e.what());
        }
    }
    if (const YAML::Node generate = scoring["generate"]) {
        r.keys(generate, {"max_tokens", "stop", "match", "regex"}, "scoring.generate");
        if (generate["max_tokens"]) {
            spec.answer.max_tokens = r.integer(generate["max_tokens"], "scoring.generate.max_tokens");
            if (spec.answer.max_tokens < 1) {
                r.fail(generate["max_tokens"], "field 'scoring.generate.max_tokens' must be at least 1");
            }
        }
        if (generate["stop"]) {
            spec.answer.stop = r.strings(generate["stop"], "scoring.generate.stop");
        }
        if (generate["match"]) {
            const std::string match = r.string(generate["match"], "scoring.generate.match");
            if (match != "first" && match != "last") {
                r.fail(generate["match"], "field 'scoring.generate.match' must be 'first' or 'last'");
            }
            spec.answer.last_match = match == "last";
        }
        if (generate["regex"]) {
            spec.answer.regex = r.string(generate["regex"], "scoring.generate.regex");
            try {
                const std::regex check(spec.answer.regex, std::regex::ECMAScript);
            } catch (const std::regex_error & e) {
                r.fail(generate["regex"], "field 'scoring.generate.regex' is not a valid regular expression (" +
                                              std::string(e.what()) + ")");
            }
        }
    }
    if (scoring["top_logprobs"]) {
        spec.answer.top_logprobs = r.integer(scoring["top_logprobs"], "scoring.top_logprobs");
        if (spec.answer.top_logprobs < 1) {
            r.fail(scoring["top_logprobs"], "field 'scoring.top_logprobs' must be at least 1");
        }
    }

    const std::vector<std::string> metrics = root["metrics"] ? r.strings(root["metrics"], "metrics") : known_metrics();
    for (const auto & m : metrics) {
        if (m == "distribution") {
            spec.distribution = true;
            continue;
        }
        if (std::find(known_metrics().begin(), known_metrics().end(), m) == known_metrics().end()) {
            const std::string near = nearest_word(m, known_metrics());
            r.fail(root["metrics"], "unknown metric '" + m + "'" +
                                        (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                                        "; metrics: acc, acc_norm_tok, acc_norm_char, acc_calibrated, distribution");
        }
        spec.metrics.push_back(m);
    }
    if (spec.metrics.empty()) {
        spec.metrics.emplace_back("acc");  // the distribution's majority agreement
    }
    if (spec.distribution && (spec.group_by.empty() || spec.mode != ScoringMode::LabelWords)) {
        r.fail(root["metrics"],
               "metric 'distribution' compares with the human answers of a group of rows: it needs "
               "data.group_by and scoring.mode label_words");
    }
    if (scoring["answer"]) {
        try {
            check_answer_route(spec, spec.answer.route);
        } catch (const Error & e) {
            r.fail(scoring["answer"], std::string("field 'scoring.answer': ") + e.what());
        }
    }
    if (!spec.group_by.empty() && spec.mode == ScoringMode::RankingPairs) {
        r.fail(data["group_by"], "data.group_by does not combine with ranking_pairs, which pairs rows itself");
    }

    const YAML::Node prompts = r.required(root, "prompts", "");
    if (!prompts.IsSequence() || prompts.size() == 0) {
        r.fail(prompts, "field 'prompts' must be a non-empty list");
    }
    std::set<std::string> names;
    for (const auto & p : prompts) {
        r.keys(p, {"name", "plain", "chat"}, "prompts[]");
        PromptVariant v;
        v.name = r.string(r.required(p, "name", "prompts[]."), "prompts[].name");
        if (!names.insert(v.name).second) {
            r.fail(p["name"], "duplicate prompt name '" + v.name + "'");
        }
        const std::string field = "prompts[" + v.name + "].";
        v.plain = r.prompt(r.required(p, "plain", "prompts[]."), "prompts[].plain");
        note(field + "plain", p["plain"]);
        if (const YAML::Node chat = p["chat"]) {
            r.keys(chat, {"user", "system"}, field + "chat");
            v.chat_user = r.prompt(r.required(chat, "user", "prompts[].chat."), "prompts[].chat.user");
            note(field + "chat.user", chat["user"]);
            if (chat["system"]) {
                v.chat_system = r.prompt(chat["system"], "prompts[].chat.system");
                note(field + "chat.system", chat["system"]);
            }
        }
        spec.prompts.push_back(std::move(v));
    }
    return spec;
}

}  // namespace

TaskSpec load_task_spec(const std::string & path, const std::string & data_dir) {
    return with_yaml_errors(path, "task", [&] { return read_task_spec(path, data_dir); });
}

void check_answer_route(const TaskSpec & spec, AnswerRoute route) {
    if (route != AnswerRoute::Loglikelihood && spec.mode != ScoringMode::LabelWords &&
        spec.mode != ScoringMode::MultipleChoice) {
        throw Error(std::string("the ") + answer_route_name(route) +
                    " route reads an answer the model says: it needs scoring.mode label_words or multiple_choice");
    }
    if (route != AnswerRoute::Loglikelihood && spec.distribution) {
        throw Error("metric 'distribution' needs every label's log-likelihood (the loglikelihood route)");
    }
}

}  // namespace compeval
