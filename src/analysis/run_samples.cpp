#include "analysis/run_samples.hpp"

#include "tasks/answer_distribution.hpp"
#include "util/error.hpp"
#include "util/json_number.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <fstream>

namespace compeval {
namespace {

std::string trim_space(const std::string & s) {
    const auto b = s.find_first_not_of(' ');
    return b == std::string::npos ? s : s.substr(b);
}

}  // namespace

double answer_confidence(const std::vector<double> & logprobs, int64_t pred) {
    if (pred < 0) {
        return 0.0;
    }
    if (static_cast<size_t>(pred) >= logprobs.size()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    const double peak = *std::max_element(logprobs.begin(), logprobs.end());
    if (!std::isfinite(peak)) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    double sum = 0;
    for (const double lp : logprobs) {
        sum += std::exp(lp - peak);
    }
    return std::exp(logprobs[static_cast<size_t>(pred)] - peak) / sum;
}

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
            const std::string route = j.value("route", "loglikelihood");
            const bool reads_answers = route == "first_token" || route == "generate";
            if (reads_answers && j.contains("pred") && !j.at("pred").contains(metric)) {
                continue;
            }
            if (!j.contains("pred") || !j.at("pred").contains(metric)) {
                throw Error(where + "no prediction for metric '" + metric + "'");
            }
            RunSample s;
            s.model = j.value("model", "");
            s.task = j.value("task", "");
            s.task_name = j.value("task_name", s.task);
            s.route = route;
            s.no_answer = j.value("no_answer", false);
            s.split = j.value("split", "");
            s.id = j.at("id").is_string() ? j.at("id").get<std::string>() : j.at("id").dump();
            s.variant = j.value("variant", "");
            const auto gold = json_whole<size_t>(j.at("gold"), where + "gold");
            const auto pred_index = json_whole<int64_t>(j.at("pred").at(metric), where + "pred." + metric);
            if (pred_index < 0 && !s.no_answer) {
                throw Error(where + "a negative prediction on a line not marked no_answer");
            }
            const auto pred = static_cast<size_t>(std::max<int64_t>(pred_index, 0));
            s.correct = pred_index >= 0 && gold == pred;
            const auto & texts =
                j.contains("outcomes") ? j.at("outcomes") : j.at("choices");  // a pair comparison: its labels
            auto text_at = [&](size_t i) {
                const auto & t = texts.at(i);
                return trim_space(t.is_string() ? t.get<std::string>() : t.at("text").get<std::string>());
            };
            s.gold_text = text_at(gold);
            s.pred_text = pred_index < 0 ? "(no answer)" : text_at(pred);
            s.n_choices = texts.size();
            s.pred = pred_index;
            for (const auto & c : j.at("choices")) {
                s.top_k_missing =
                    s.top_k_missing || (c.contains("first_token_listed") && !c.at("first_token_listed").get<bool>());
                if (c.is_object() && c.contains("logprob") && c.at("logprob").is_number()) {
                    s.choice_logprobs.push_back(c.at("logprob").get<double>());
                }
            }
            if (s.choice_logprobs.size() != j.at("choices").size()) {
                s.choice_logprobs.clear();  // not every choice was scored by likelihood
            }
            // Outcomes beyond the choices (a pair comparison's "equal") have no probability of their own.
            const bool one_per_choice = texts.size() == j.at("choices").size();
            if (route == "first_token" && one_per_choice) {
                std::vector<double> first;
                for (const auto & c : j.at("choices")) {
                    const auto lp = c.find("first_token_logprob");  // null: -infinity in JSON
                    first.push_back(lp != c.end() && lp->is_number() ? lp->get<double>()
                                                                     : -std::numeric_limits<double>::infinity());
                }
                s.confidence = answer_confidence(first, pred_index);
            } else if (route != "generate" && one_per_choice && !s.choice_logprobs.empty()) {
                s.confidence = answer_confidence(s.choice_logprobs, pred_index);
            }
            if (j.contains("human")) {
                s.human = j.at("human").get<std::vector<double>>();
            }
            if (j.contains("distribution")) {
                s.total_variation = j.at("distribution").at("total_variation").get<double>();
                s.jensen_shannon = j.at("distribution").at("jensen_shannon").get<double>();
            } else if (!s.human.empty() && s.choice_logprobs.size() == s.human.size() &&
                       std::accumulate(s.human.begin(), s.human.end(), 0.0) > 0) {
                // Observed shares without the task's `distribution` metric (a
                // records domain): the same distances, from the stored likelihoods.
                const auto d = compare_distributions(s.choice_logprobs, s.human);
                s.total_variation = d.total_variation;
                s.jensen_shannon = d.jensen_shannon;
            }
            s.separate_boundary = j.value("boundary", "joint") == "separate";  // runs before 0.1.x lack it: joint
            for (const auto & [k, v] : j.at("fields").items()) {
                s.fields[k] = v.get<std::string>();
            }
            out.push_back(std::move(s));
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
    return out;
}

}  // namespace compeval
