#include "analysis/quantization_drift.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

namespace compeval {
namespace {

using AnswerKey = std::tuple<std::string, std::string, std::string, std::string>;  // task, split, id, prompt

std::vector<size_t> order_of(const std::vector<double> & logprobs) {
    std::vector<size_t> order(logprobs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t l, size_t r) { return logprobs[l] > logprobs[r]; });
    return order;
}

struct Tally {
    size_t n = 0;
    size_t correct = 0;
    size_t source_correct = 0;
    size_t flipped = 0;
    size_t reordered = 0;
    size_t with_logprobs = 0;
    size_t choices = 0;
    double abs_drift = 0;
    double drift = 0;
    double max_abs_drift = 0;

    void add(const RunSample & q, const RunSample & s) {
        ++n;
        correct += q.correct ? 1 : 0;
        source_correct += s.correct ? 1 : 0;
        flipped += q.pred != s.pred ? 1 : 0;
        if (!q.choice_logprobs.empty() && q.choice_logprobs.size() == s.choice_logprobs.size()) {
            ++with_logprobs;
            reordered += order_of(q.choice_logprobs) != order_of(s.choice_logprobs) ? 1 : 0;
            for (size_t c = 0; c < q.choice_logprobs.size(); ++c) {
                const double d = q.choice_logprobs[c] - s.choice_logprobs[c];
                drift += d;
                abs_drift += std::abs(d);
                max_abs_drift = std::max(max_abs_drift, std::abs(d));
                ++choices;
            }
        }
    }

    nlohmann::json to_json() const {
        const auto share = [&](size_t k, size_t of) { return of > 0 ? static_cast<double>(k) / of : 0.0; };
        nlohmann::json j = {{"n", n},
                            {"accuracy", share(correct, n)},
                            {"source_accuracy", share(source_correct, n)},
                            {"flipped", share(flipped, n)}};
        if (choices > 0) {
            j["reordered"] = share(reordered, with_logprobs);
            j["mean_abs_drift"] = abs_drift / static_cast<double>(choices);
            j["mean_drift"] = drift / static_cast<double>(choices);
            j["max_abs_drift"] = max_abs_drift;
        }
        return j;
    }
};

}  // namespace

nlohmann::json quantization_drift(const std::vector<RunSample> & samples,
                                  const std::map<std::string, ReportModel> & models) {
    std::map<std::string, std::map<AnswerKey, const RunSample *>> by_model;
    for (const auto & s : samples) {
        by_model[s.model][{s.task, s.split, s.id, s.variant}] = &s;
    }
    nlohmann::json rows = nlohmann::json::array();
    for (const auto & [name, m] : models) {
        if (m.quantized_from.empty() || !by_model.contains(name) || !by_model.contains(m.quantized_from)) {
            continue;
        }
        const auto & source = by_model.at(m.quantized_from);
        std::map<std::string, std::map<std::string, Tally>> tallies;  // task -> split -> tally
        for (const auto & [key, q] : by_model.at(name)) {
            const auto s = source.find(key);
            if (s == source.end()) {
                continue;
            }
            tallies[q->task]["all"].add(*q, *s->second);
            if (q->split != "all") {  // a task whose one split is named "all"
                tallies[q->task][q->split].add(*q, *s->second);
            }
        }
        for (const auto & [task, splits] : tallies) {
            for (const auto & [split, tally] : splits) {
                auto row = tally.to_json();
                row.update({{"model", name},
                            {"source", m.quantized_from},
                            {"quant", m.quant},
                            {"family", m.family},
                            {"size", m.size},
                            {"variant", m.variant},
                            {"task", task},
                            {"split", split}});
                rows.push_back(std::move(row));
            }
        }
    }
    return rows;
}

}  // namespace compeval
