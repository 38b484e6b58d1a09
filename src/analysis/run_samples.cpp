#include "analysis/run_samples.hpp"

#include "util/error.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

namespace compeval {
namespace {

std::string trim_space(const std::string & s) {
    const auto b = s.find_first_not_of(' ');
    return b == std::string::npos ? s : s.substr(b);
}

}  // namespace

std::vector<RunSample> read_run_samples(const std::string & run_dir, const std::string & metric) {
    const std::string path = run_dir + "/samples.jsonl";
    std::ifstream in(path);
    if (!in) {
        throw Error(path + ": cannot open (is " + run_dir + " a compeval run directory?)");
    }
    std::vector<RunSample> out;
    std::string text;
    size_t line = 0;
    while (std::getline(in, text)) {
        ++line;
        const std::string where = path + ":" + std::to_string(line) + ": ";
        try {
            const auto j = nlohmann::json::parse(text);
            if (!j.contains("pred") || !j["pred"].contains(metric)) {
                throw Error(where + "no prediction for metric '" + metric + "'");
            }
            RunSample s;
            s.model = j.value("model", "");
            s.task = j.value("task", "");
            s.split = j.value("split", "");
            s.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
            s.variant = j.value("variant", "");
            const auto gold = j["gold"].get<size_t>();
            const auto pred = j["pred"][metric].get<size_t>();
            s.correct = gold == pred;
            if (j.contains("outcomes")) {  // a pair comparison: gold and pred index its labels
                s.gold_text = j["outcomes"].at(gold).get<std::string>();
                s.pred_text = j["outcomes"].at(pred).get<std::string>();
                s.n_choices = j["outcomes"].size();
            } else {
                s.gold_text = trim_space(j["choices"].at(gold)["text"].get<std::string>());
                s.pred_text = trim_space(j["choices"].at(pred)["text"].get<std::string>());
                s.n_choices = j["choices"].size();
            }
            if (j.contains("distribution")) {
                s.total_variation = j["distribution"]["total_variation"].get<double>();
                s.jensen_shannon = j["distribution"]["jensen_shannon"].get<double>();
            }
            s.separate_boundary = j.value("boundary", "joint") == "separate";  // runs before 0.1.x lack it: joint
            for (const auto & [k, v] : j["fields"].items()) {
                s.fields[k] = v.get<std::string>();
            }
            out.push_back(std::move(s));
        } catch (const nlohmann::json::exception & e) {
            throw Error(where + "malformed sample line (" + std::string(e.what()).substr(0, 80) + ")");
        }
    }
    return out;
}

}  // namespace compeval
