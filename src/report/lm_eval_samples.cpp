#include "report/lm_eval_samples.hpp"

#include "util/error.hpp"
#include "util/json_number.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>

namespace compeval::lm_eval {
namespace {

std::string required_string(const nlohmann::json & j, const char * key, const std::string & where) {
    if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
        throw Error(where + "missing or empty \"" + key + "\"");
    }
    return j[key].get<std::string>();
}

void add_sample(std::map<std::string, ModelRun> & models, const nlohmann::json & j, const std::string & where) {
    const std::string model = required_string(j, "model", where);
    const std::string route = j.value("route", "loglikelihood");
    if ((j.contains("outcomes") && j.at("outcomes").size() != j.at("choices").size()) || route == "first_token" ||
        route == "generate") {
        // A pair comparison's "equal" outcome is no choice, and the answer
        // routes have no per-choice log-likelihoods: lm-eval's
        // multiple-choice records cannot hold them, so the task is left out.
        models[model].left_out.insert(required_string(j, "task", where));
        return;
    }
    Doc doc;
    const std::string task = required_string(j, "task", where);
    doc.split = required_string(j, "split", where);
    const std::string variant = required_string(j, "variant", where);
    doc.context = j.at("context").get<std::string>();
    doc.id = j.at("id").is_string() ? j.at("id").get<std::string>() : j.at("id").dump();
    doc.line = j.value("line", int64_t{0});
    doc.gold = json_whole<int64_t>(j.at("gold"), where + "gold");
    doc.fields = j.value("fields", nlohmann::json::object()).dump();
    const std::string form = j.value("form", "plain");
    for (const auto & c : j.at("choices")) {
        std::string text = c.at("text").get<std::string>();
        const auto first = text.find_first_not_of(' ');
        if (form == "chat" && first != std::string::npos) {  // compeval scores chat answers without leading spaces
            text.erase(0, first);
        }
        doc.choices.push_back({text, c.at("logprob").get<double>(), c.value("greedy", false)});
    }
    const auto n_choices = static_cast<int64_t>(doc.choices.size());
    if (n_choices == 0 || doc.gold < 0 || doc.gold >= n_choices) {
        throw Error(where + "gold " + std::to_string(doc.gold) + " is not one of " + std::to_string(n_choices) +
                    " choices");
    }
    for (const auto & [metric, p] : j.at("pred").items()) {
        doc.pred[metric] = json_whole<int64_t>(p, where + "pred." + metric);
        if (doc.pred[metric] < 0 || doc.pred[metric] >= n_choices) {
            throw Error(where + "prediction for '" + metric + "' is not one of the choices");
        }
    }
    const std::string name = task + "_" + doc.split + "_" + variant;
    if (name.find_first_of("/\\") != std::string::npos) {
        throw Error(where + "task name '" + name + "' cannot be a file name");
    }
    ModelRun & run = models[model];
    const std::string sha = j.value("model_sha256", "");
    if (run.tasks.empty()) {
        run.sha256 = sha;
    } else if (sha != run.sha256) {
        throw Error(where + "model '" + model + "' has a second model_sha256 " + sha);
    }
    run.chat = run.chat || form == "chat";
    LmTask & t = run.tasks[name];
    if (t.docs.empty()) {
        t = {task, doc.split, variant, form, {}, {}};
    } else if (doc.pred.size() != t.docs.front().pred.size() ||
               !std::equal(doc.pred.begin(), doc.pred.end(), t.docs.front().pred.begin(),
                           [](const auto & a, const auto & b) { return a.first == b.first; })) {
        throw Error(where + "metrics differ from earlier samples of " + model + " on " + name);
    }
    if (!t.ids.insert(doc.id).second) {
        throw Error(where + "second sample of item '" + doc.id + "' for " + model + " on " + name);
    }
    t.docs.push_back(std::move(doc));
}

}  // namespace

std::map<std::string, ModelRun> read_samples(const std::string & run_dir) {
    const std::string path = run_dir + "/samples.jsonl";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path + ": cannot open (is " + run_dir + " a compeval run directory?)");
    }
    std::map<std::string, ModelRun> models;
    std::string text;
    size_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        if (text.find_first_not_of(" \t\r") == std::string::npos) {
            continue;
        }
        const std::string where = path + ":" + std::to_string(line) + ": ";
        try {
            add_sample(models, nlohmann::json::parse(text), where);
        } catch (const nlohmann::json::exception & e) {
            if (in.eof()) {  // compeval ends every line with '\n': the last one was cut
                throw Error(where +
                            "the file ends in the middle of a sample (cut short: a full disk or an "
                            "interrupted copy); export it again with compeval run SUITE --out " +
                            run_dir);
            }
            throw Error(where + "malformed sample line (" + std::string(e.what()).substr(0, 80) + ")");
        }
    }
    for (auto & [model, run] : models) {
        for (auto & [name, task] : run.tasks) {
            std::stable_sort(task.docs.begin(), task.docs.end(),
                             [](const Doc & a, const Doc & b) { return a.line < b.line; });
        }
    }
    return models;
}

// Parameter counts from summary.json; optional, since samples carry everything else.
void read_parameter_counts(const std::string & run_dir, std::map<std::string, ModelRun> & models) {
    const std::string path = run_dir + "/summary.json";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return;
    }
    nlohmann::json summary;
    try {
        in >> summary;
    } catch (const nlohmann::json::exception &) {
        throw Error(path + ": invalid JSON");
    }
    if (!summary.is_array()) {
        throw Error(path + ": expected an array of rows");
    }
    for (const auto & row : summary) {
        const auto it = models.find(row.value("model", ""));
        if (row.contains("layer") || it == models.end() || !row.contains("n_params") ||
            !row.at("n_params").is_number()) {
            continue;
        }
        it->second.n_params = row.at("n_params").dump();
    }
}

}  // namespace compeval::lm_eval
