#include "runs/suite_runner.hpp"

#include "backends/remote_model.hpp"
#include "model/quantize.hpp"
#include "runs/suite_plan.hpp"
#include "scoring/generation_engine.hpp"
#include "scoring/remote_generator.hpp"
#include "scoring/remote_scorer.hpp"
#include "tasks/answer_task.hpp"
#include "util/error.hpp"
#include "util/machine.hpp"
#include "util/process_memory.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <fstream>
#include <set>
#include <sstream>

namespace compeval {
namespace {

std::string file_text(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

nlohmann::json facts_json(const SuiteModel & m, const ModelFacts & f) {
    return {{"name", m.name},
            {"family", m.family},
            {"size", m.size},
            {"variant", m.variant},
            {"path", f.path},
            {"sha256", f.sha256},
            {"n_params", f.n_params},
            {"file_bytes", f.file_bytes},
            {"file_type", f.file_type},
            {"weight_repacking", f.weight_repacking},
            {"tensor_types", f.tensor_types},
            {"bits_per_weight", f.bits_per_weight},
            {"quant", m.quant},
            {"quantized_from", m.quantized_from},
            {"architecture", f.architecture},
            {"n_layer", f.n_layer},
            {"has_chat_template", f.has_chat_template},
            {"chat_turn_opening", f.chat_turn_opening},
            {"chat_written_prefix", f.chat_written_prefix},
            {"chat_answer_prefix", f.chat_answer_prefix},
            {"chat_answer_rule", f.chat_answer_rule},
            {"chat_template_error", f.chat_template_error}};
}

// What this run's scoring of one model x task cost, when it scored anything.
void record_cost(ResultsStore & store, int64_t run_id, const ModelTaskResult & out, ScoringCost & cost,
                 uint64_t tokens_decoded, const SuiteRunOptions & options) {
    if (out.scored == 0) {
        return;
    }
    cost.requests = out.scored;
    cost.tokens_decoded = tokens_decoded;
    cost.load_seconds = out.facts.load_seconds;
    cost.peak_rss_bytes = peak_rss_bytes();
    cost.threads = resolve_threads(options.threads);
    cost.batch = options.batch;
    cost.machine = machine_description();
    store.record_cost(run_id, out.facts.sha256, cost);
}

// The progress of a run: the plan, and the planned tokens done so far.
struct ProgressTracker {
    const SuiteRunOptions & options;
    SuitePlan plan;
    SuiteProgress at;
    const PlannedStep * step = nullptr;  // the current model x task's plan

    void begin(size_t done, size_t total) {
        at.done = done;
        at.reused = done;
        at.total = total;
        report();
    }
    void advance(size_t requests, uint64_t tokens) {
        at.done += requests;
        at.suite_tokens_done += tokens;
        report();
    }
    void report() const {
        if (options.progress) {
            options.progress(at);
        }
    }
};

// Scores one model x task: look up, score the missing chunks, assemble.
ModelTaskResult run_one(LoglikelihoodScorer & engine, const SuiteModel & model, const SuiteTask & task,
                        ResultsStore & store, int64_t run_id, const SuiteRunOptions & options, ShardPlanner & planner,
                        ProgressTracker & progress) {
    ModelTaskResult out;
    out.model = model;
    out.facts = engine.language_model().facts();
    out.spec = &task.spec;
    out.result.task = task.spec.name;
    out.result.route = engine.route();
    if (out.result.route.empty()) {
        throw Error(fmt::format("model '{}', task '{}': {}", model.name, task.spec.name,
                                "the server returns no prompt log-probabilities; give the task `answer: generate` "
                                "or `answer: first_token` in the suite"));
    }
    PreparedTask prepared = prepare_task(engine.language_model(), task.spec, suite_task_options(model, task));

    // Unique requests in first-occurrence order.
    std::vector<std::string> hashes(prepared.requests.size());
    std::map<std::string, size_t> first_index;
    std::vector<size_t> unique;
    for (size_t i = 0; i < prepared.requests.size(); ++i) {
        hashes[i] = request_hash(prepared.requests[i]);
        if (first_index.emplace(hashes[i], i).second) {
            unique.push_back(i);
        }
    }
    std::vector<std::string> unique_hashes;
    unique_hashes.reserve(unique.size());
    for (size_t i : unique) {
        unique_hashes.push_back(hashes[i]);
    }
    const std::string & sha = out.facts.sha256;
    auto known = store.lookup(sha, unique_hashes);
    // A shard scores (and counts) only the chunks its plan gives it.
    const auto mine =
        options.shard.active() ? planner.assign(prepared.tokenized, unique) : std::vector<bool>(unique.size(), true);
    for (size_t u = 0; u < unique.size(); ++u) {
        out.unique_requests += mine[u] ? 1 : 0;
        out.reused += mine[u] && known.contains(unique_hashes[u]) ? 1 : 0;
    }
    if (options.reuse_only && out.reused < out.unique_requests) {
        throw Error(fmt::format("model '{}', task '{}': {} of {} requests are not in the store", model.name,
                                task.spec.name, out.unique_requests - out.reused, out.unique_requests));
    }
    store.insert(run_id, sha, {}, out.reused);
    progress.begin(out.reused, out.unique_requests);
    ScoringCost cost;
    cost.task = task.spec.name;
    const uint64_t tokens_before = engine.tokens_decoded();

    for (size_t first = 0; first < unique.size(); first += options.chunk) {
        const size_t last = std::min(unique.size(), first + options.chunk);
        std::vector<size_t> missing;
        for (size_t u = first; u < last; ++u) {
            if (mine[u] && !known.contains(unique_hashes[u])) {
                missing.push_back(unique[u]);
            }
        }
        if (missing.empty()) {
            continue;
        }
        std::vector<TokenizedRequest> batch;
        std::vector<const std::vector<Token> *> sequences;
        batch.reserve(missing.size());
        for (size_t i : missing) {
            batch.push_back(prepared.tokenized[i]);
            sequences.push_back(&prepared.tokenized[i].tokens);
        }
        const auto start = std::chrono::steady_clock::now();
        const auto scores = engine.loglikelihood_tokens(batch);
        cost.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::vector<StoredRequest> rows;
        for (size_t k = 0; k < missing.size(); ++k) {
            rows.push_back({hashes[missing[k]], prepared.requests[missing[k]], task.spec.name, scores[k]});
            known[hashes[missing[k]]] = scores[k];
        }
        store.insert(run_id, sha, rows, 0);
        out.scored += rows.size();
        progress.advance(rows.size(), options.progress ? chunk_tokens(sequences) : 0);
    }
    record_cost(store, run_id, out, cost, engine.tokens_decoded() - tokens_before, options);
    if (options.shard.active()) {
        return out;  // other shards hold the rest: nothing to assemble
    }
    std::vector<LoglikelihoodResult> all;
    all.reserve(hashes.size());
    for (const auto & h : hashes) {
        all.push_back(known.at(h));
    }
    finish_task(task.spec, prepared, all);
    prepared.result.route = out.result.route;
    out.result = std::move(prepared.result);
    return out;
}

// The same for the first-token and generative routes: answers are looked up
// and stored by answer_request_hash, in chunks committed one by one.
ModelTaskResult run_answers_one(AnswerGenerator & generator, const SuiteModel & model, const SuiteTask & task,
                                AnswerRoute route, ResultsStore & store, int64_t run_id,
                                const SuiteRunOptions & options, ProgressTracker & progress) {
    ModelTaskResult out;
    out.model = model;
    out.facts = generator.language_model().facts();
    out.spec = &task.spec;
    PreparedAnswers prepared =
        prepare_answers(generator.language_model(), task.spec, route, suite_task_options(model, task));
    const std::string endpoint = generator.endpoint(prepared.result.form == "chat");
    const std::string route_name = answer_route_name(route);
    std::vector<std::string> hashes;
    hashes.reserve(prepared.requests.size());
    for (const auto & r : prepared.requests) {
        hashes.push_back(answer_request_hash(r, route_name, endpoint));
    }
    std::vector<std::string> unique_hashes = hashes;
    std::sort(unique_hashes.begin(), unique_hashes.end());
    unique_hashes.erase(std::unique(unique_hashes.begin(), unique_hashes.end()), unique_hashes.end());
    const std::string & sha = out.facts.sha256;
    auto known = store.lookup_answers(sha, unique_hashes);
    out.unique_requests = unique_hashes.size();
    out.reused = known.size();
    if (options.reuse_only && out.reused < out.unique_requests) {
        throw Error(fmt::format("model '{}', task '{}': {} of {} answers are not in the store", model.name,
                                task.spec.name, out.unique_requests - out.reused, out.unique_requests));
    }
    store.insert_answers(run_id, sha, {}, out.reused);
    progress.begin(out.reused, out.unique_requests);
    // Missing requests in first-occurrence order.
    std::vector<size_t> missing;
    std::set<std::string> queued;
    for (size_t i = 0; i < hashes.size(); ++i) {
        if (!known.contains(hashes[i]) && queued.insert(hashes[i]).second) {
            missing.push_back(i);
        }
    }
    ScoringCost cost;
    cost.task = routed_task_name(task.spec.name, route);
    const uint64_t tokens_before = generator.tokens_decoded();
    // The plan counts each answer's prompt and token budget: a chunk is its share.
    const uint64_t planned = progress.step != nullptr ? progress.step->tokens.value_or(0) : 0;
    uint64_t planned_done = 0;
    for (size_t first = 0; first < missing.size(); first += options.chunk) {
        const size_t last = std::min(missing.size(), first + options.chunk);
        std::vector<GenerationRequest> batch;
        for (size_t k = first; k < last; ++k) {
            batch.push_back(prepared.requests[missing[k]]);
        }
        const auto start = std::chrono::steady_clock::now();
        const auto answers = generator.generate(batch);
        cost.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::vector<StoredAnswer> rows;
        for (size_t k = first; k < last; ++k) {
            const size_t i = missing[k];
            rows.push_back({hashes[i], cost.task, route_name, prepared.requests[i].prompt, answers[k - first]});
            known[hashes[i]] = answers[k - first];
        }
        store.insert_answers(run_id, sha, rows, 0);
        out.scored += rows.size();
        const uint64_t share = missing.empty() ? 0 : planned * last / missing.size();
        progress.advance(rows.size(), share - planned_done);
        planned_done = share;
    }
    record_cost(store, run_id, out, cost, generator.tokens_decoded() - tokens_before, options);
    std::vector<GenerationResult> all;
    all.reserve(hashes.size());
    for (const auto & h : hashes) {
        all.push_back(known.at(h));
    }
    finish_answers(generator.language_model(), task.spec, prepared, all, endpoint);
    out.result = std::move(prepared.result);
    return out;
}

// A quantized variant is made from its source when its file is missing or
// was made from other source bytes (deterministic: every shard makes the same).
void make_quantized(const SuiteSpec & suite, const SuiteModel & m, const SuiteRunOptions & options) {
    const auto source = std::find_if(suite.models.begin(), suite.models.end(),
                                     [&](const SuiteModel & s) { return s.name == m.quantized_from; });
    QuantizeOptions quantize;
    quantize.threads = options.threads;
    const auto start = std::chrono::steady_clock::now();
    if (ensure_quantized(source->path, m.path, m.quant, quantize) && options.log) {
        options.log(fmt::format("{}: quantized {} to {} in {:.1f} s ({})", m.name, source->name, m.quant,
                                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                                m.path));
    }
}

}  // namespace

SuiteRunResult run_suite(const SuiteSpec & suite, ResultsStore & store, const SuiteRunOptions & options) {
    SuiteRunResult run;
    for (const auto & task : suite.tasks) {
        for (const AnswerRoute route : task.routes) {
            if (options.shard.active() && route != AnswerRoute::Loglikelihood) {
                throw Error(fmt::format("task '{}': the {} route is not split into shards yet; run it unsharded",
                                        task.spec.name, answer_route_name(route)));
            }
        }
    }
    const int64_t run_id = options.shard.active()
                               ? begin_shard_run(store, suite, file_text(suite.path), options.shard, options.chunk)
                               : store.begin_run(suite.path, file_text(suite.path));
    ShardPlanner planner(options.shard, options.chunk);
    ProgressTracker progress{options, {}, {}, nullptr};
    if (options.progress) {
        progress.plan = plan_suite(suite, store, options.chunk, options.shard);
        progress.at.models = suite.models.size();
        progress.at.suite_tokens = progress.plan.tokens();
        progress.at.suite_tokens_known = progress.plan.tokens_known();
        progress.at.suite_requests = progress.plan.requests();
        progress.at.suite_tokens_requested = progress.plan.tokens_requested();
        for (const auto & task : suite.tasks) {
            progress.at.tasks += task.representation ? 0 : task.routes.size();
        }
    }
    for (const auto & task : suite.tasks) {
        const auto & path = task.representation ? task.representation->path : task.spec.path;
        store.record_task(task.representation ? task.representation->name : task.spec.name, file_text(path));
    }
    for (size_t mi = 0; mi < suite.models.size(); ++mi) {
        const SuiteModel & model_spec = suite.models[mi];
        progress.at.model = mi + 1;
        progress.at.model_name = model_spec.name;
        progress.at.task = 0;
        reset_peak_rss();  // the previous model is freed: each model gets its own peak
        // In-process (a GGUF path) or remote (a server URL): the same scoring interface.
        std::unique_ptr<Model> local;
        std::unique_ptr<RemoteModel> remote;
        std::unique_ptr<LoglikelihoodScorer> scorer;
        std::unique_ptr<AnswerGenerator> generator;
        EngineOptions engine_options;
        engine_options.threads = options.threads;
        engine_options.batch = options.batch;
        engine_options.cancel = options.cancel;
        if (model_spec.url.empty()) {
            if (!model_spec.quantized_from.empty()) {
                make_quantized(suite, model_spec, options);
            }
            local = std::make_unique<Model>(model_spec.path);
            scorer = std::make_unique<LoglikelihoodEngine>(*local, engine_options);
        } else {
            RemoteOptions remote_options;
            remote_options.http.base_url = model_spec.url;
            remote_options.http.api_key_env = model_spec.api_key_env;
            remote_options.model = model_spec.server_model;
            remote_options.concurrency = model_spec.concurrency;
            remote_options.http.timeout_seconds = model_spec.timeout_seconds;
            remote_options.http.max_attempts = model_spec.max_attempts;
            remote_options.cache_prompt = model_spec.cache_prompt;
            remote_options.scoring = model_spec.scoring;
            remote = std::make_unique<RemoteModel>(remote_options);
            scorer = std::make_unique<RemoteScorer>(*remote, options.cancel);
        }
        const ModelFacts & facts = scorer->language_model().facts();
        auto recorded = facts_json(model_spec, facts);
        if (remote) {
            recorded["remote"] = remote->capabilities().to_json();  // never the API key
        }
        store.record_model(facts.sha256, recorded.dump());
        for (size_t ti = 0; ti < suite.tasks.size(); ++ti) {
            const SuiteTask & task = suite.tasks[ti];
            if (task.representation) {
                if (options.shard.active()) {
                    continue;  // no requests to split: computed once, when the merged run is exported
                }
                if (!local) {
                    run.notes.push_back(model_spec.name + " x " + task.representation->name +
                                        ": not available (a remote server gives no per-layer hidden states)");
                    continue;
                }
                ModelLayerResult layers{model_spec, facts, &*task.representation,
                                        run_representation_task(*local, *task.representation, options.threads)};
                store.record_layer_metrics(run_id, facts.sha256, layers.result);
                run.layers.push_back(std::move(layers));
                continue;
            }
            for (size_t ri = 0; ri < task.routes.size(); ++ri) {
                const AnswerRoute route = task.routes[ri];
                ++progress.at.task;
                progress.at.task_name = routed_task_name(task.spec.name, route);
                progress.step = progress.plan.find(mi, ti, ri);
                if (route != AnswerRoute::Loglikelihood && !generator) {
                    generator = local ? std::unique_ptr<AnswerGenerator>(
                                            std::make_unique<GenerationEngine>(*local, engine_options))
                                      : std::make_unique<RemoteGenerator>(*remote, options.cancel);
                }
                auto result =
                    route == AnswerRoute::Loglikelihood
                        ? run_one(*scorer, model_spec, task, store, run_id, options, planner, progress)
                        : run_answers_one(*generator, model_spec, task, route, store, run_id, options, progress);
                run.scored += result.scored;
                run.reused += result.reused;
                run.results.push_back(std::move(result));
            }
        }
        run.costs.push_back({model_spec, facts, store.costs(facts.sha256)});
    }
    store.finish_run(run_id);
    if (options.shard.active()) {
        run.shard = planner.plan();
    }
    return run;
}

}  // namespace compeval
