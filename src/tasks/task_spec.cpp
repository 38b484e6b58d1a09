#include "tasks/task_spec.hpp"

#include "util/error.hpp"
#include "util/yaml_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
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

TaskSpec load_task_spec(const std::string & path, const std::string & data_dir) {
    const YAML::Node root = load_yaml_file(path, "task");
    SpecReader r(path);
    if (!root.IsMap()) {
        r.fail(root, "a task file must be a mapping");
    }
    TaskSpec spec;
    spec.path = path;
    spec.name = r.string(r.required(root, "name", ""), "name");
    spec.category = root["category"] ? r.string(root["category"], "category") : "";
    spec.description = root["description"] ? r.string(root["description"], "description") : "";

    const YAML::Node data = r.required(root, "data", "");
    const std::string format = r.string(r.required(data, "format", "data."), "data.format");
    try {
        spec.table.format = table_format_from_name(format);
    } catch (const Error & e) {
        r.fail(data["format"], e.what());
    }
    if (data["columns"]) {
        spec.table.columns = r.strings(data["columns"], "data.columns");
    }
    if (data["delimiter"]) {
        const auto d = r.string(data["delimiter"], "data.delimiter");
        spec.table.delimiter = d == "\\t" ? '\t' : (d.empty() ? '\0' : d[0]);
    }
    const YAML::Node splits = r.required(data, "splits", "data.");
    if (!splits.IsMap() || splits.size() == 0) {
        r.fail(splits, "field 'data.splits' must map split names to file paths");
    }
    for (const auto & kv : splits) {
        spec.splits.emplace_back(kv.first.as<std::string>(),
                                 expand_data_dir(r.string(kv.second, "data.splits"), data_dir));
    }
    spec.id_column = data["id"] ? r.string(data["id"], "data.id") : "";
    if (data["keep"]) {
        spec.keep = r.strings(data["keep"], "data.keep");
    }
    if (data["derive"]) {
        if (!data["derive"].IsMap()) {
            r.fail(data["derive"], "field 'data.derive' must map column names to derivations");
        }
        for (const auto & kv : data["derive"]) {
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

    if (const YAML::Node fewshot = root["fewshot"]) {
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
    }

    const YAML::Node scoring = r.required(root, "scoring", "");
    const std::string mode = r.string(r.required(scoring, "mode", "scoring."), "scoring.mode");
    if (mode == "label_words") {
        spec.mode = ScoringMode::LabelWords;
        spec.label_column = r.string(r.required(scoring, "label", "scoring."), "scoring.label");
        const YAML::Node words = r.required(scoring, "label_words", "scoring.");
        if (!words.IsMap() || words.size() < 2) {
            r.fail(words, "field 'scoring.label_words' must map at least two label values to answer words");
        }
        for (const auto & kv : words) {
            spec.label_words.emplace_back(kv.first.as<std::string>(), r.string(kv.second, "scoring.label_words"));
        }
    } else if (mode == "multiple_choice") {
        spec.mode = ScoringMode::MultipleChoice;
        spec.choice_columns = r.strings(r.required(scoring, "choices", "scoring."), "scoring.choices");
        spec.gold_column = r.string(r.required(scoring, "gold", "scoring."), "scoring.gold");
    } else if (mode == "ranking_pairs") {
        spec.mode = ScoringMode::RankingPairs;
        spec.label_column = r.string(r.required(scoring, "label", "scoring."), "scoring.label");
        spec.pair_by = r.string(r.required(scoring, "pair_by", "scoring."), "scoring.pair_by");
        spec.positive_label = r.string(r.required(scoring, "positive", "scoring."), "scoring.positive");
    } else if (mode == "minimal_pair") {
        spec.mode = ScoringMode::MinimalPair;
        spec.good_column = r.string(r.required(scoring, "good", "scoring."), "scoring.good");
        spec.bad_column = r.string(r.required(scoring, "bad", "scoring."), "scoring.bad");
    } else {
        r.fail(scoring["mode"],
               "unknown scoring mode '" + mode + "' (label_words, multiple_choice, ranking_pairs, minimal_pair)");
    }
    spec.choice_template =
        scoring["choice"] ? r.prompt(scoring["choice"], "scoring.choice") : PromptTemplate(" {{choice}}");
    if (scoring["calibration"]) {
        spec.calibration_context = r.string(scoring["calibration"], "scoring.calibration");
    }

    spec.metrics = root["metrics"] ? r.strings(root["metrics"], "metrics") : known_metrics();
    for (const auto & m : spec.metrics) {
        if (std::find(known_metrics().begin(), known_metrics().end(), m) == known_metrics().end()) {
            r.fail(root["metrics"], "unknown metric '" + m + "' (acc, acc_norm_tok, acc_norm_char, acc_calibrated)");
        }
    }

    const YAML::Node prompts = r.required(root, "prompts", "");
    if (!prompts.IsSequence() || prompts.size() == 0) {
        r.fail(prompts, "field 'prompts' must be a non-empty list");
    }
    std::set<std::string> names;
    for (const auto & p : prompts) {
        PromptVariant v;
        v.name = r.string(r.required(p, "name", "prompts[]."), "prompts[].name");
        if (!names.insert(v.name).second) {
            r.fail(p["name"], "duplicate prompt name '" + v.name + "'");
        }
        v.plain = r.prompt(r.required(p, "plain", "prompts[]."), "prompts[].plain");
        if (const YAML::Node chat = p["chat"]) {
            v.chat_user = r.prompt(r.required(chat, "user", "prompts[].chat."), "prompts[].chat.user");
            if (chat["system"]) {
                v.chat_system = r.prompt(chat["system"], "prompts[].chat.system");
            }
        }
        spec.prompts.push_back(std::move(v));
    }
    return spec;
}

}  // namespace compeval
