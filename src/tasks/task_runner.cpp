#include "tasks/task_runner.hpp"

#include "backends/chat_template.hpp"
#include "tasks/item_sample.hpp"
#include "tasks/task_prompts.hpp"
#include "util/error.hpp"
#include "util/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

namespace compeval {

std::string TaskResult::label() const {
    return reads_answers() ? task + ":" + route : task;
}

bool TaskItemResult::separate_boundary() const {
    return std::find(boundaries.begin(), boundaries.end(), TokenBoundary::Separate) != boundaries.end();
}

nlohmann::json sample_json(const TaskSpec & spec, const TaskResult & result, const TaskItemResult & r) {
    const TaskItem & item = result.items[r.item];
    nlohmann::json kept = nlohmann::json::object();
    for (const auto & k : spec.keep) {
        kept[k] = item.fields.at(k);
    }
    for (const auto & d : spec.derive) {
        kept[d.name] = item.fields.at(d.name);
    }
    nlohmann::json choices = nlohmann::json::array();
    for (size_t c = 0; c < item.choices.size(); ++c) {
        nlohmann::json choice = {{"text", item.choices[c]}};
        if (c < r.choices.size()) {
            choice.update({{"logprob", r.choices[c].logprob},
                           {"n_tokens", r.choices[c].n_tokens},
                           {"greedy", r.choices[c].greedy},
                           {"boundary", boundary_name(r.boundaries[c])},
                           {"calibration_logprob", r.calibration[c]},
                           {"calibration_boundary", boundary_name(r.calibration_boundaries[c])}});
        }
        if (c < r.first_token.size()) {
            choice["first_token_logprob"] = r.first_token[c];
            choice["first_token_listed"] = static_cast<bool>(r.first_token_listed[c]);
        }
        choices.push_back(std::move(choice));
    }
    const char * boundary = boundary_name(r.separate_boundary() ? TokenBoundary::Separate : TokenBoundary::Joint);
    nlohmann::json line = {{"task", result.label()}, {"task_name", spec.name}, {"route", result.route},
                           {"split", item.split},    {"id", item.id},          {"line", item.line},
                           {"variant", r.variant},   {"form", result.form},    {"context", r.context},
                           {"gold", item.gold},      {"pred", r.pred},         {"fields", kept},
                           {"choices", choices}};
    if (result.reads_answers()) {
        line["endpoint"] = result.endpoint;
        line["no_answer"] = r.no_answer;
        if (result.route == "generate") {
            line["answer"] = r.answer;
        } else {
            line["first_top"] = r.first_top;  // [token, log-probability], most likely first
        }
    } else {
        line["boundary"] = boundary;
    }
    if (!item.outcomes.empty()) {
        line["outcomes"] = item.outcomes;  // what gold and pred index
    }
    if (!item.human.empty()) {
        line["rows"] = item.rows;
        line["human"] = item.human;
    }
    if (r.distribution) {
        line["distribution"] = {{"model", r.distribution->model},
                                {"human", r.distribution->human},
                                {"total_variation", r.distribution->total_variation},
                                {"jensen_shannon", r.distribution->jensen_shannon}};
    }
    return line;
}

int predict(const std::string & metric, const std::vector<LoglikelihoodResult> & choices,
            const std::vector<double> & calibration, const std::vector<std::string> & choice_texts,
            double equal_margin) {
    auto score = [&](size_t c) {
        const auto & r = choices[c];
        if (metric == "acc_norm_tok") {
            return r.logprob / r.n_tokens;
        }
        if (metric == "acc_norm_char") {
            return r.logprob / static_cast<double>(std::max<size_t>(choice_texts[c].size(), 1));
        }
        if (metric == "acc_calibrated") {
            return r.logprob - calibration[c];
        }
        return r.logprob;
    };
    if (equal_margin >= 0 && choices.size() == 2 && std::abs(score(0) - score(1)) <= equal_margin) {
        return 2;
    }
    int best = 0;
    for (size_t c = 1; c < choices.size(); ++c) {
        if (score(c) > score(static_cast<size_t>(best))) {
            best = static_cast<int>(c);
        }
    }
    return best;
}

PreparedTask prepare_task(const LanguageModel & model, const TaskSpec & spec, const TaskRunOptions & options) {
    PreparedTask prepared;
    TaskResult & result = prepared.result;
    result.task = spec.name;
    result.limit = options.limit;
    result.items = load_limited_items(spec, options.limit);
    const FewShotPool pool(spec);

    const bool chat = use_chat_form(model, spec, options.form == PromptForm::Chat, options.form == PromptForm::Auto);
    result.form = chat ? "chat" : "plain";

    std::vector<const TaskItem *> request_item;
    auto add_request = [&](const std::string & context, const std::string & choice, const TaskItem & item) {
        prepared.requests.push_back({context, chat ? strip_leading_space(choice) : choice, chat});
        request_item.push_back(&item);
    };
    for (const auto & v : spec.prompts) {
        const std::string calibration = chat
                                            ? model.render_chat(chat_messages(v, {}, nullptr, spec.calibration_context))
                                            : spec.calibration_context;
        for (size_t i = 0; i < result.items.size(); ++i) {
            const TaskItem & item = result.items[i];
            const auto shots = pool.shots_for(item);
            TaskItemResult r;
            r.item = i;
            r.variant = v.name;
            r.context = chat ? model.render_chat(chat_messages(v, shots, &item)) : plain_context(spec, v, shots, item);
            for (const auto & choice : item.choices) {
                add_request(r.context, choice, item);
            }
            for (const auto & choice : item.choices) {
                add_request(calibration, choice, item);
            }
            result.results.push_back(std::move(r));
        }
    }
    prepared.tokenized = tokenize_requests(model, prepared.requests, resolve_threads(options.threads),
                                           [&](size_t i) { return item_location(spec, *request_item[i]); });
    return prepared;
}

void finish_task(const TaskSpec & spec, PreparedTask & prepared, const std::vector<LoglikelihoodResult> & scores) {
    TaskResult & result = prepared.result;
    size_t next = 0;
    for (auto & r : result.results) {
        const TaskItem & item = result.items[r.item];
        const size_t n = item.choices.size();
        r.choices.assign(scores.begin() + static_cast<std::ptrdiff_t>(next),
                         scores.begin() + static_cast<std::ptrdiff_t>(next + n));
        r.calibration.clear();
        r.boundaries.clear();
        r.calibration_boundaries.clear();
        for (size_t c = 0; c < n; ++c) {
            r.calibration.push_back(scores[next + n + c].logprob);
            r.boundaries.push_back(prepared.tokenized[next + c].boundary);
            r.calibration_boundaries.push_back(prepared.tokenized[next + n + c].boundary);
        }
        next += 2 * n;
        const double margin = spec.equal_label.empty() ? -1 : spec.margin;
        for (const auto & metric : spec.metrics) {
            r.pred[metric] = predict(metric, r.choices, r.calibration, item.choices, margin);
        }
        if (spec.distribution) {
            std::vector<double> logprobs;
            for (const auto & c : r.choices) {
                logprobs.push_back(c.logprob);
            }
            r.distribution = compare_distributions(logprobs, item.human);
        }
    }

    compute_task_metrics(spec, spec.metrics, result);
}

void compute_task_metrics(const TaskSpec & spec, const std::vector<std::string> & metrics, TaskResult & result) {
    result.metrics.clear();
    for (const auto & [split, path] : spec.splits) {
        TaskMetrics mean{split, "mean", 0, {}};
        for (const auto & v : spec.prompts) {
            TaskMetrics m{split, v.name, 0, {}};
            for (const auto & r : result.results) {
                const TaskItem & item = result.items[r.item];
                if (r.variant != v.name || item.split != split) {
                    continue;
                }
                ++m.n;
                m.boundary_separate += r.separate_boundary() ? 1 : 0;
                for (const auto & metric : metrics) {
                    m.values[metric] += r.pred.at(metric) == item.gold ? 1.0 : 0.0;
                }
                if (result.reads_answers()) {
                    m.values["no_answer"] += r.no_answer ? 1.0 : 0.0;
                }
                if (!r.first_token_listed.empty()) {
                    const bool all_listed =
                        std::all_of(r.first_token_listed.begin(), r.first_token_listed.end(), [](bool b) { return b; });
                    m.values["top_k_missing"] += all_listed ? 0.0 : 1.0;
                }
                if (r.distribution) {
                    m.values["distribution_tv"] += r.distribution->total_variation;
                    m.values["distribution_js"] += r.distribution->jensen_shannon;
                }
            }
            for (auto & [metric, value] : m.values) {
                value = m.n > 0 ? value / static_cast<double>(m.n) : 0.0;
                mean.values[metric] += value / static_cast<double>(spec.prompts.size());
            }
            mean.n = m.n;
            result.metrics.push_back(std::move(m));
        }
        // An item counts once when any prompt variant needed the separate rule.
        std::set<size_t> separate_items;
        for (const auto & r : result.results) {
            if (result.items[r.item].split == split && r.separate_boundary()) {
                separate_items.insert(r.item);
            }
        }
        mean.boundary_separate = separate_items.size();
        result.metrics.push_back(std::move(mean));
    }
}

TaskResult run_task(LoglikelihoodScorer & scorer, const TaskSpec & spec, const TaskRunOptions & options) {
    PreparedTask prepared = prepare_task(scorer.language_model(), spec, options);
    finish_task(spec, prepared, scorer.loglikelihood_tokens(prepared.tokenized));
    prepared.result.route = scorer.route();
    return std::move(prepared.result);
}

}  // namespace compeval
