#include "report/lm_eval_export.hpp"

#include "report/lm_eval_samples.hpp"

#include "util/error.hpp"
#include "util/sha256.hpp"
#include "version.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

namespace compeval {
namespace {

using namespace lm_eval;

namespace fs = std::filesystem;
// lm-eval's files are Python dicts dumped in insertion order; keep that order.
using ojson = nlohmann::ordered_json;

// Score of one metric over a task or group; no stderr stands for lm-eval's "N/A".
struct Aggregate {
    double value = 0.0;
    std::optional<double> se;
    size_t n = 0;
};
using Scores = std::vector<std::pair<std::string, Aggregate>>;

// Python's str(float), which lm-eval's sanitize_list applies to every response.
std::string python_float(double v) {
    if (std::isnan(v)) {
        return "nan";
    }
    if (std::isinf(v)) {
        return v < 0 ? "-inf" : "inf";
    }
    std::array<char, 64> buf{};
    const auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::scientific);
    std::string s(buf.data(), res.ptr);  // shortest round trip, e.g. "-1.409e+01"
    std::string sign;
    if (s.front() == '-') {
        sign = "-";
        s.erase(0, 1);
    }
    const auto e = s.find('e');
    const int exp = std::stoi(s.substr(e + 1));
    std::string digits = s.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    if (exp < -4 || exp >= 16) {  // repr switches to exponent form outside [1e-4, 1e16)
        std::string mantissa = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
        const std::string e_digits = std::to_string(std::abs(exp));
        return sign + mantissa + (exp < 0 ? "e-" : "e+") + (e_digits.size() < 2 ? "0" : "") + e_digits;
    }
    if (exp < 0) {
        return sign + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    }
    const auto int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) {
        return sign + digits + std::string(int_len - digits.size(), '0') + ".0";
    }
    return sign + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

// lm-eval's sanitize_model_name.
std::string sanitize_model_name(const std::string & name) {
    static const std::regex bad(R"(["<>:/|\\?*\[\]]+)");
    return std::regex_replace(name, bad, "__");
}

size_t code_points(const std::string & s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// lm-eval's acc_norm prediction: np.argmax(lls / len(choice)), first maximum on ties.
int64_t acc_norm_pred(const std::vector<Choice> & choices) {
    int64_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (size_t c = 0; c < choices.size(); ++c) {
        const size_t len = code_points(choices[c].continuation);
        const double score =
            len > 0 ? choices[c].logprob / static_cast<double>(len) : -std::numeric_limits<double>::infinity();
        if (c == 0 || score > best_score) {
            best = static_cast<int64_t>(c);
            best_score = score;
        }
    }
    return best;
}

// The metrics a task reports, in lm-eval's order: acc, acc_norm, then the rest.
std::vector<std::string> metric_names(const Doc & doc) {
    std::vector<std::string> names;
    if (doc.pred.contains("acc")) {
        names.emplace_back("acc");
    }
    names.emplace_back("acc_norm");
    for (const auto & [m, p] : doc.pred) {
        if (m != "acc" && m != "acc_norm") {
            names.push_back(m);
        }
    }
    return names;
}

double doc_score(const Doc & doc, const std::string & metric) {
    const int64_t pred = metric == "acc_norm" ? acc_norm_pred(doc.choices) : doc.pred.at(metric);
    return pred == doc.gold ? 1.0 : 0.0;
}

// lm-eval's mean and mean_stderr (sample standard deviation / sqrt(n)).
Aggregate mean_with_stderr(const std::vector<double> & xs) {
    Aggregate a;
    a.n = xs.size();
    a.value = std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
    if (xs.size() > 1) {
        double ss = 0.0;
        for (const double x : xs) {
            ss += (x - a.value) * (x - a.value);
        }
        a.se = std::sqrt(ss / static_cast<double>(xs.size() - 1)) / std::sqrt(static_cast<double>(xs.size()));
    }
    return a;
}

// lm-eval's aggregate_subtask_metrics (weight_by_size) and pooled_sample_stderr.
Aggregate pool(const std::vector<Aggregate> & parts) {
    Aggregate a;
    double weighted = 0.0;
    double pooled_var = 0.0;
    bool have_stderr = true;
    for (const auto & p : parts) {
        a.n += p.n;
        weighted += p.value * static_cast<double>(p.n);
        have_stderr = have_stderr && p.se.has_value();
        if (p.se) {
            pooled_var += static_cast<double>(p.n - 1) * *p.se * *p.se * static_cast<double>(p.n);
        }
    }
    const auto total = static_cast<double>(a.n);
    a.value = weighted / total;
    if (have_stderr) {
        pooled_var /= total - static_cast<double>(parts.size());
        a.se = std::sqrt(pooled_var / total);
    }
    return a;
}

void put_scores(ojson & entry, const Scores & scores) {
    for (const auto & [metric, a] : scores) {
        entry[metric + ",none"] = a.value;
        entry[metric + "_stderr,none"] = a.se ? ojson(*a.se) : ojson("N/A");
    }
}

void put_nulls(ojson & j, std::initializer_list<const char *> keys) {
    for (const char * k : keys) {
        j[k] = nullptr;
    }
}

double unix_time(const std::string & timestamp) {
    std::tm tm{};
    std::istringstream in(timestamp);
    in >> std::get_time(&tm, "%Y-%m-%dT%H-%M-%S");
    const bool parsed = !in.fail();
    std::string rest;
    std::getline(in, rest);
    const bool fraction_ok = rest.empty() || (rest.size() >= 2 && rest.size() <= 7 && rest[0] == '.' &&
                                              rest.find_first_not_of("0123456789", 1) == std::string::npos);
    if (!parsed || !fraction_ok) {
        throw Error("timestamp '" + timestamp + "' is not like lm-eval's 2026-11-28T22-41-07.123456");
    }
    tm.tm_isdst = -1;  // datetime.now() is local time
    return static_cast<double>(std::mktime(&tm)) + (rest.empty() ? 0.0 : std::stod("0" + rest));
}

ojson task_config(const std::string & name, const LmTask & t, const std::vector<std::string> & metrics) {
    ojson metric_list = ojson::array();
    for (const auto & m : metrics) {
        metric_list.push_back({{"metric", m}, {"aggregation", "mean"}, {"higher_is_better", true}});
    }
    // TaskConfig.to_dict() order, without its None fields.
    return {{"task", name},
            {"dataset_path", t.group},
            {"test_split", t.split},
            {"doc_to_text", "{{context}}"},
            {"doc_to_target", "{{gold}}"},
            {"unsafe_code", false},
            {"doc_to_choice", "{{choices}}"},
            {"description", ""},
            {"target_delimiter", ""},
            {"fewshot_delimiter", "\n\n"},
            {"metric_list", metric_list},
            {"output_type", "multiple_choice"},
            {"repeats", 1},
            {"should_decontaminate", false},
            {"metadata", {{"version", 1.0}, {"prompt_variant", t.variant}, {"form", t.form}}}};
}

void write_text(const std::string & path, const std::string & text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
        throw Error(path + ": cannot write");
    }
}

// Writes one task's samples file; returns its task hash and per-metric scores.
std::pair<std::string, Scores> write_task_samples(const std::string & path, const LmTask & t,
                                                  const std::vector<std::string> & metrics) {
    std::string text;
    std::string hashes;
    std::map<std::string, std::vector<double>> values;
    for (size_t i = 0; i < t.docs.size(); ++i) {
        const Doc & d = t.docs[i];
        ojson choices = ojson::array();
        ojson arguments = ojson::object();
        ojson resps = ojson::array();
        ojson filtered = ojson::array();
        for (size_t c = 0; c < d.choices.size(); ++c) {
            const auto & ch = d.choices[c];
            choices.push_back(ch.continuation);
            arguments["gen_args_" + std::to_string(c)] = {{"arg_0", d.context}, {"arg_1", ch.continuation}};
            const ojson resp = {python_float(ch.logprob), ch.greedy ? "True" : "False"};
            resps.push_back(ojson::array({resp}));
            filtered.push_back(resp);
        }
        const ojson doc = {{"id", d.id},
                           {"split", d.split},
                           {"line", d.line},
                           {"context", d.context},
                           {"choices", choices},
                           {"gold", d.gold},
                           {"fields", ojson::parse(d.fields)}};
        const std::string target = std::to_string(d.gold);
        ojson sample = {{"doc_id", i},
                        {"doc", doc},
                        {"target", target},
                        {"arguments", arguments},
                        {"resps", resps},
                        {"filtered_resps", filtered},
                        {"filter", "none"},
                        {"metrics", metrics},
                        {"doc_hash", sha256_string(doc.dump(2))},
                        {"prompt_hash", sha256_string(d.context)},
                        {"target_hash", sha256_string(target)}};
        for (const auto & m : metrics) {
            sample[m] = doc_score(d, m);
            values[m].push_back(sample[m].get<double>());
        }
        hashes += sample["doc_hash"].get<std::string>() + sample["prompt_hash"].get<std::string>() +
                  sample["target_hash"].get<std::string>();
        if (!path.empty()) {
            text += sample.dump() + "\n";
        }
    }
    if (!path.empty()) {
        write_text(path, text);
    }
    Scores scores;
    for (const auto & m : metrics) {
        scores.emplace_back(m, mean_with_stderr(values[m]));
    }
    return {sha256_string(hashes), scores};
}

std::vector<std::string> write_model(const std::string & model, const ModelRun & run, const std::string & out_dir,
                                     const std::string & timestamp, bool log_samples) {
    const std::string sanitized = sanitize_model_name(model);
    const fs::path dir = fs::path(out_dir) / sanitized;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        throw Error(dir.string() + ": cannot create (" + ec.message() + ")");
    }
    std::vector<std::string> written = {(dir / ("results_" + timestamp + ".json")).string()};
    std::map<std::string, std::vector<std::string>> groups;  // compeval task -> lm-eval tasks
    std::map<std::string, Scores> scores;
    ojson configs = ojson::object();
    ojson n_samples = ojson::object();
    ojson task_hashes = ojson::object();
    std::map<std::string, ojson> versions;
    std::map<std::string, ojson> higher_is_better;
    for (const auto & [name, t] : run.tasks) {
        if (run.tasks.contains(t.group)) {
            throw Error("task '" + t.group + "' has the same name as the lm-eval task of another split/variant");
        }
        const auto metrics = metric_names(t.docs.front());
        // Without log_samples the samples are still hashed and scored, only not written.
        const std::string path =
            log_samples ? (dir / ("samples_" + name + "_" + timestamp + ".jsonl")).string() : std::string();
        auto [hash, task_scores] = write_task_samples(path, t, metrics);
        if (log_samples) {
            written.push_back(path);
        }
        groups[t.group].push_back(name);
        scores[name] = task_scores;
        configs[name] = task_config(name, t, metrics);
        n_samples[name] = {{"original", t.docs.size()}, {"effective", t.docs.size()}};
        task_hashes[name] = hash;
        versions[name] = versions[t.group] = 1.0;
        for (const auto & m : metrics) {
            higher_is_better[name][m] = higher_is_better[t.group][m] = true;
        }
    }
    ojson results = ojson::object();
    ojson group_results = ojson::object();
    ojson group_subtasks = ojson::object();
    for (const auto & [group, subtasks] : groups) {
        std::vector<std::string> order;  // lm-eval pools every metric any subtask has
        std::map<std::string, std::vector<Aggregate>> parts;
        for (const auto & s : subtasks) {
            for (const auto & [m, a] : scores[s]) {
                order.insert(order.end(), parts.contains(m) ? 0 : 1, m);
                parts[m].push_back(a);
            }
        }
        Scores pooled;
        for (const auto & m : order) {
            pooled.emplace_back(m, pool(parts[m]));
        }
        ojson entry = {{"alias", group}};
        put_scores(entry, pooled);
        results[group] = group_results[group] = entry;
        for (const auto & s : subtasks) {
            ojson sub = {{"alias", " - " + s}};  // prepare_print_tasks indents subtasks
            put_scores(sub, scores[s]);
            results[s] = sub;
        }
    }
    // lm-eval lists groups in reverse.
    std::for_each(groups.rbegin(), groups.rend(), [&](const auto & g) { group_subtasks[g.first] = g.second; });
    ojson n_shot = ojson::object();
    for (const auto & [name, t] : run.tasks) {
        n_shot[name] = nullptr;  // not recorded in the run directory
    }
    ojson config = {{"model", "compeval"}, {"model_args", "pretrained=" + model + ",gguf_sha256=" + run.sha256}};
    if (!run.n_params.empty()) {
        config["model_num_parameters"] = ojson::parse(run.n_params);
    }
    config["model_sha"] = run.sha256;
    put_nulls(config, {"batch_size"});
    config["batch_sizes"] = ojson::array();
    put_nulls(config, {"device", "use_cache", "limit"});
    config["bootstrap_iters"] = 100000;  // what lm-eval needs set to report mean_stderr
    put_nulls(config, {"gen_kwargs", "random_seed", "numpy_seed", "torch_seed", "fewshot_seed"});
    ojson out = {{"results", results},
                 {"groups", group_results},
                 {"group_subtasks", group_subtasks},
                 {"configs", configs},
                 {"versions", ojson(versions)},
                 {"n-shot", n_shot},
                 {"higher_is_better", ojson(higher_is_better)},
                 {"n-samples", n_samples},
                 {"config", config},
                 {"git_hash", nullptr},
                 {"date", unix_time(timestamp)},
                 {"pretty_env_info", std::string("compeval ") + kVersion + " (llama.cpp " + kLlamaVersion + ")"}};
    put_nulls(out, {"transformers_version", "lm_eval_version", "upper_git_hash"});
    out.update({{"task_hashes", task_hashes},
                {"model_source", "compeval"},
                {"model_name", model},
                {"model_name_sanitized", sanitized}});
    put_nulls(out, {"system_instruction", "system_instruction_sha"});
    out["fewshot_as_multiturn"] = run.chat;  // compeval's chat form puts few-shot examples in their own turns
    put_nulls(out, {"chat_template", "chat_template_sha", "start_time", "end_time", "total_evaluation_time_seconds"});
    write_text(written.front(), out.dump(2));
    return written;
}

}  // namespace

std::vector<std::string> write_lm_eval_outputs(const std::string & run_dir, const std::string & out_dir,
                                               const std::string & timestamp, bool log_samples) {
    // lm-eval finds the task and date in file names by the first and last '_'.
    if (timestamp.find_first_of("_/\\") != std::string::npos) {
        throw Error("timestamp '" + timestamp + "' must not contain '_', '/' or '\\'");
    }
    unix_time(timestamp);
    auto models = read_samples(run_dir);
    read_parameter_counts(run_dir, models);
    std::set<std::string> folders;
    for (const auto & [model, run] : models) {
        if (!folders.insert(sanitize_model_name(model)).second) {
            throw Error("models '" + model + "' and another share the folder name " + sanitize_model_name(model));
        }
    }
    std::vector<std::string> written;
    for (const auto & [model, run] : models) {
        if (run.tasks.empty()) {
            continue;  // only tasks lm-eval cannot hold (see ModelRun::left_out)
        }
        const auto files = write_model(model, run, out_dir, timestamp, log_samples);
        written.insert(written.end(), files.begin(), files.end());
    }
    return written;
}

}  // namespace compeval
