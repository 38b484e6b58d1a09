#include "tasks/task_runner.hpp"

#include "backends/chat_template.hpp"
#include "tasks/item_sample.hpp"
#include "util/error.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

namespace compeval {
namespace {

std::string strip_leading_space(const std::string & s) {
    const auto b = s.find_first_not_of(' ');
    return b == std::string::npos ? s : s.substr(b);
}

// Few-shot examples: one seeded draw from the pool, shared by every item so
// the preamble is a shared prefix; an example identical to the test item is
// swapped for the next candidate.
class FewShotPool {
  public:
    explicit FewShotPool(const TaskSpec & spec) : k_(static_cast<size_t>(spec.fewshot_k)) {
        if (k_ == 0) {
            return;
        }
        pool_ = load_fewshot_items(spec);
        if (pool_.size() <= k_) {
            throw Error(spec.fewshot_path + ": few-shot pool has " + std::to_string(pool_.size()) +
                        " items; k = " + std::to_string(k_) + " needs more");
        }
        order_.resize(pool_.size());
        std::iota(order_.begin(), order_.end(), 0);
        std::mt19937_64 rng(spec.fewshot_seed);
        std::shuffle(order_.begin(), order_.end(), rng);
    }

    std::vector<const TaskItem *> shots_for(const TaskItem & item) const {
        std::vector<const TaskItem *> out;
        for (size_t i = 0; i < order_.size() && out.size() < k_; ++i) {
            const TaskItem & candidate = pool_[order_[i]];
            if (candidate.fields != item.fields) {
                out.push_back(&candidate);
            }
        }
        return out;
    }

  private:
    size_t k_;
    std::vector<TaskItem> pool_;
    std::vector<size_t> order_;
};

std::string plain_context(const TaskSpec & spec, const PromptVariant & v, const std::vector<const TaskItem *> & shots,
                          const TaskItem & item) {
    std::string out;
    for (const auto * shot : shots) {
        out += v.plain.render(shot->fields) + shot->choices[static_cast<size_t>(shot->gold)] + spec.fewshot_separator;
    }
    return out + v.plain.render(item.fields);
}

std::string chat_context(const LanguageModel & model, const PromptVariant & v,
                         const std::vector<const TaskItem *> & shots, const TaskItem * item,
                         const std::string & user_override = "") {
    std::vector<ChatMessage> messages;
    if (!v.chat_system.empty()) {
        // The content-free calibration prompt has no item: its system message
        // must not depend on item fields.
        messages.push_back(
            {"system", v.chat_system.render(item != nullptr ? item->fields : std::map<std::string, std::string>{})});
    }
    for (const auto * shot : shots) {
        messages.push_back({"user", v.chat_user.render(shot->fields)});
        messages.push_back({"assistant", strip_leading_space(shot->choices[static_cast<size_t>(shot->gold)])});
    }
    messages.push_back({"user", item != nullptr ? v.chat_user.render(item->fields) : user_override});
    return model.render_chat(messages);
}

std::string where(const TaskSpec & spec, const TaskItem & item) {
    for (const auto & [name, path] : spec.splits) {
        if (name == item.split) {
            return path + ":" + std::to_string(item.line) + ": ";
        }
    }
    return item.split + ":" + std::to_string(item.line) + ": ";
}

}  // namespace

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
    for (size_t c = 0; c < r.choices.size(); ++c) {
        choices.push_back({{"text", item.choices[c]},
                           {"logprob", r.choices[c].logprob},
                           {"n_tokens", r.choices[c].n_tokens},
                           {"greedy", r.choices[c].greedy},
                           {"boundary", boundary_name(r.boundaries[c])},
                           {"calibration_logprob", r.calibration[c]},
                           {"calibration_boundary", boundary_name(r.calibration_boundaries[c])}});
    }
    const char * boundary = boundary_name(r.separate_boundary() ? TokenBoundary::Separate : TokenBoundary::Joint);
    nlohmann::json line = {{"task", spec.name},    {"split", item.split},  {"id", item.id},
                           {"line", item.line},    {"variant", r.variant}, {"form", result.form},
                           {"context", r.context}, {"gold", item.gold},    {"pred", r.pred},
                           {"boundary", boundary}, {"fields", kept},       {"choices", choices}};
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
    for (const auto & [split, path] : spec.splits) {
        auto items = limit_items(load_task_items(spec, split, path), options.limit, spec.name, split);
        result.items.insert(result.items.end(), items.begin(), items.end());
    }
    const FewShotPool pool(spec);

    const bool every_variant_has_chat =
        std::all_of(spec.prompts.begin(), spec.prompts.end(), [](const auto & v) { return !v.chat_user.empty(); });
    bool chat = options.form == PromptForm::Chat;
    if (options.form == PromptForm::Auto) {
        chat = model.facts().has_chat_template && every_variant_has_chat;
    }
    if (chat && !every_variant_has_chat) {
        throw Error(spec.path + ": chat form requested but a prompt variant has no 'chat' form");
    }
    result.form = chat ? "chat" : "plain";

    auto add_request = [&](const std::string & context, const std::string & choice, const TaskItem & item) {
        LoglikelihoodRequest request{context, chat ? strip_leading_space(choice) : choice, chat};
        try {
            prepared.tokenized.push_back(tokenize_request(model, request));
        } catch (const Error & e) {
            throw Error(where(spec, item) + e.what());
        }
        prepared.requests.push_back(std::move(request));
    };
    for (const auto & v : spec.prompts) {
        const std::string calibration =
            chat ? chat_context(model, v, {}, nullptr, spec.calibration_context) : spec.calibration_context;
        for (size_t i = 0; i < result.items.size(); ++i) {
            const TaskItem & item = result.items[i];
            const auto shots = pool.shots_for(item);
            TaskItemResult r;
            r.item = i;
            r.variant = v.name;
            r.context = chat ? chat_context(model, v, shots, &item) : plain_context(spec, v, shots, item);
            for (const auto & choice : item.choices) {
                add_request(r.context, choice, item);
            }
            for (const auto & choice : item.choices) {
                add_request(calibration, choice, item);
            }
            result.results.push_back(std::move(r));
        }
    }
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
                for (const auto & metric : spec.metrics) {
                    m.values[metric] += r.pred.at(metric) == item.gold ? 1.0 : 0.0;
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
    return std::move(prepared.result);
}

}  // namespace compeval
