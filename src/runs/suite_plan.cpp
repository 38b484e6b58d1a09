#include "runs/suite_plan.hpp"

#include "backends/model.hpp"
#include "runs/sharding.hpp"
#include "scoring/prefix_tree.hpp"
#include "tasks/answer_task.hpp"
#include "tasks/task_runner.hpp"
#include "util/file_status.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <numeric>
#include <set>

namespace compeval {
namespace {

// A quantized variant not made yet: it tokenizes like its source, and the
// store holds nothing of it.
bool made_by_the_run(const SuiteModel & m) {
    return !m.quantized_from.empty() && !is_file(m.path);
}

const SuiteModel & source_of(const SuiteSpec & suite, const SuiteModel & m) {
    const auto it = std::find_if(suite.models.begin(), suite.models.end(),
                                 [&](const SuiteModel & s) { return s.name == m.quantized_from; });
    return it == suite.models.end() ? m : *it;
}

// Log-likelihood route: the unique requests the store lacks (and this shard
// scores), and the prefix-tree tokens of each committed chunk's share of them.
PlannedStep plan_loglikelihood(const Model & model, const std::string & sha, const SuiteModel & m,
                               const SuiteTask & task, ResultsStore & store, ShardPlanner & planner, size_t chunk,
                               bool sharded) {
    const PreparedTask prepared = prepare_task(model, task.spec, suite_task_options(m, task));
    std::vector<std::string> hashes;
    std::vector<size_t> unique;
    std::set<std::string> seen;
    for (size_t i = 0; i < prepared.requests.size(); ++i) {
        auto h = request_hash(prepared.requests[i]);
        if (seen.insert(h).second) {
            unique.push_back(i);
            hashes.push_back(std::move(h));
        }
    }
    const auto known = sha.empty() ? std::map<std::string, LoglikelihoodResult>() : store.lookup(sha, hashes);
    const auto mine = sharded ? planner.assign(prepared.tokenized, unique) : std::vector<bool>(unique.size(), true);
    PlannedStep step;
    step.tokens = 0;
    for (size_t first = 0; first < unique.size(); first += chunk) {
        std::vector<const std::vector<Token> *> missing;
        for (size_t u = first; u < std::min(unique.size(), first + chunk); ++u) {
            if (mine[u] && !known.contains(hashes[u])) {
                missing.push_back(&prepared.tokenized[unique[u]].tokens);
                step.tokens_requested += missing.back()->size();
            }
        }
        step.requests += missing.size();
        *step.tokens += chunk_tokens(missing);
    }
    return step;
}

// Answer routes: each prompt's tokens plus its answer's budget (an upper
// bound: an answer may stop early).
PlannedStep plan_answers(const Model & model, const std::string & sha, const SuiteModel & m, const SuiteTask & task,
                         AnswerRoute route, ResultsStore & store) {
    const PreparedAnswers prepared = prepare_answers(model, task.spec, route, suite_task_options(m, task));
    std::map<std::string, const GenerationRequest *> unique;
    for (const auto & r : prepared.requests) {
        unique.emplace(answer_request_hash(r, answer_route_name(route), "in_process"), &r);
    }
    std::vector<std::string> hashes;
    hashes.reserve(unique.size());
    for (const auto & [h, r] : unique) {
        hashes.push_back(h);
    }
    const auto known = sha.empty() ? std::map<std::string, GenerationResult>() : store.lookup_answers(sha, hashes);
    PlannedStep step;
    step.tokens = 0;
    for (const auto & [h, r] : unique) {
        if (!known.contains(h)) {
            ++step.requests;
            *step.tokens += model.tokenize(r->prompt, true, r->parse_special).size() +
                            static_cast<uint64_t>(std::max(r->max_tokens, 1));
        }
    }
    step.tokens_requested = *step.tokens;  // each prompt is decoded whole: no prefix is shared
    return step;
}

}  // namespace

TaskRunOptions suite_task_options(const SuiteModel & model, const SuiteTask & task) {
    TaskRunOptions options;
    options.limit = task.limit;
    options.form = model.variant == "instruct" && task.form != "plain" ? PromptForm::Chat : PromptForm::Plain;
    return options;
}

bool SuitePlan::tokens_known() const {
    return std::all_of(steps.begin(), steps.end(), [](const PlannedStep & s) { return s.tokens.has_value(); });
}

uint64_t SuitePlan::tokens() const {
    return std::accumulate(steps.begin(), steps.end(), uint64_t{0},
                           [](uint64_t sum, const PlannedStep & s) { return sum + s.tokens.value_or(0); });
}

uint64_t SuitePlan::tokens_requested() const {
    return std::accumulate(steps.begin(), steps.end(), uint64_t{0},
                           [](uint64_t sum, const PlannedStep & s) { return sum + s.tokens_requested; });
}

size_t SuitePlan::requests() const {
    return std::accumulate(steps.begin(), steps.end(), size_t{0},
                           [](size_t sum, const PlannedStep & s) { return sum + s.requests; });
}

const PlannedStep * SuitePlan::find(size_t model, size_t task, size_t route) const {
    for (const auto & s : steps) {
        if (s.model == model && s.task == task && s.route == route) {
            return &s;
        }
    }
    return nullptr;
}

uint64_t chunk_tokens(const std::vector<const std::vector<Token> *> & sequences) {
    return sequences.empty() ? 0 : PrefixTree::build(sequences).size();
}

SuitePlan plan_suite(const SuiteSpec & suite, ResultsStore & store, size_t chunk, ShardSpec shard) {
    SuitePlan plan;
    ShardPlanner planner(shard, chunk);
    for (size_t mi = 0; mi < suite.models.size(); ++mi) {
        const SuiteModel & m = suite.models[mi];
        std::unique_ptr<Model> vocab;
        std::string sha;
        if (m.url.empty()) {
            const bool to_make = made_by_the_run(m);
            ModelOptions options;
            options.vocab_only = true;
            vocab = std::make_unique<Model>(to_make ? source_of(suite, m).path : m.path, options);
            sha = to_make ? "" : vocab->facts().sha256;
        }
        for (size_t ti = 0; ti < suite.tasks.size(); ++ti) {
            const SuiteTask & task = suite.tasks[ti];
            if (task.representation) {
                continue;
            }
            for (size_t ri = 0; ri < task.routes.size(); ++ri) {
                PlannedStep step;
                if (vocab) {
                    step = task.routes[ri] == AnswerRoute::Loglikelihood
                               ? plan_loglikelihood(*vocab, sha, m, task, store, planner, chunk, shard.active())
                               : plan_answers(*vocab, sha, m, task, task.routes[ri], store);
                }
                step.model = mi;
                step.task = ti;
                step.route = ri;
                plan.steps.push_back(step);
            }
        }
    }
    return plan;
}

}  // namespace compeval
