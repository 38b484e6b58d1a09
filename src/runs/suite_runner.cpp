#include "runs/suite_runner.hpp"

#include "backends/remote_model.hpp"
#include "model/quantize.hpp"
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

// RFC 4180: quote a field holding a comma, quote or newline.
std::string csv_field(const std::string & v) {
    if (v.find_first_of(",\"\n") == std::string::npos) {
        return v;
    }
    std::string out = "\"";
    for (char c : v) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

// The columns every summary row starts with: which model, which task.
nlohmann::json summary_row(const SuiteModel & m, const ModelFacts & f, const std::string & task,
                           const std::string & category) {
    nlohmann::json row = {{"model", m.name},      {"family", m.family},       {"size", m.size},
                          {"variant", m.variant}, {"model_sha256", f.sha256}, {"n_params", f.n_params},
                          {"task", task},         {"category", category}};
    if (!m.group.empty()) {
        row["group"] = m.group;
    }
    if (m.seed >= 0) {
        row["seed"] = m.seed;
    }
    if (!m.quant.empty()) {
        row["quant"] = m.quant;
    }
    if (!m.quantized_from.empty()) {
        row["quantized_from"] = m.quantized_from;
    }
    return row;
}

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

// Per model: what it is (size on disk, parameters) and, per task, how many
// items and distinct requests it needs and what the scored ones cost, summed
// over every run that scored some (a resumed run adds its share).
nlohmann::json cost_json(const SuiteRunResult & run) {
    nlohmann::json models = nlohmann::json::array();
    for (const auto & mc : run.costs) {
        nlohmann::json m = summary_row(mc.model, mc.facts, "", "");
        m.erase("task");
        m.erase("category");
        m["file_bytes"] = mc.facts.file_bytes;
        m["bits_per_weight"] = mc.facts.bits_per_weight;
        m["tensor_types"] = mc.facts.tensor_types;
        m["load_seconds"] = mc.facts.load_seconds;
        uint64_t peak = 0;
        for (const auto & c : mc.measured) {
            peak = std::max(peak, c.peak_rss_bytes);
        }
        nlohmann::json tasks = nlohmann::json::array();
        for (const auto & mt : run.results) {
            if (mt.facts.sha256 != mc.facts.sha256 || mt.model.name != mc.model.name) {
                continue;
            }
            nlohmann::json t = {{"task", mt.result.label()},
                                {"route", mt.result.route},
                                {"items", mt.result.items.size()},
                                {"unique_requests", mt.unique_requests},
                                {"measured_requests", 0},
                                {"seconds", 0.0},
                                {"tokens_decoded", 0}};
            for (const auto & c : mc.measured) {
                if (c.task == mt.result.label()) {
                    t["measured_requests"] = t["measured_requests"].get<uint64_t>() + c.requests;
                    t["seconds"] = t["seconds"].get<double>() + c.seconds;
                    t["tokens_decoded"] = t["tokens_decoded"].get<uint64_t>() + c.tokens_decoded;
                    m["threads"] = c.threads;
                    m["batch"] = c.batch;
                    m["machine"] = c.machine;
                }
            }
            tasks.push_back(std::move(t));
        }
        m["peak_rss_bytes"] = peak;
        m["tasks"] = std::move(tasks);
        models.push_back(std::move(m));
    }
    return {{"models", models}};
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

TaskRunOptions task_run_options(const SuiteModel & model, const SuiteTask & task) {
    TaskRunOptions options;
    options.limit = task.limit;
    options.form = model.variant == "instruct" && task.form != "plain" ? PromptForm::Chat : PromptForm::Plain;
    return options;
}

// Scores one model x task: look up, score the missing chunks, assemble.
ModelTaskResult run_one(LoglikelihoodScorer & engine, const SuiteModel & model, const SuiteTask & task,
                        ResultsStore & store, int64_t run_id, const SuiteRunOptions & options, ShardPlanner & planner) {
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
    PreparedTask prepared = prepare_task(engine.language_model(), task.spec, task_run_options(model, task));

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
    size_t done = out.reused;
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
        batch.reserve(missing.size());
        for (size_t i : missing) {
            batch.push_back(prepared.tokenized[i]);
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
        done += rows.size();
        if (options.progress) {
            options.progress(done, out.unique_requests);
        }
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
                                const SuiteRunOptions & options) {
    ModelTaskResult out;
    out.model = model;
    out.facts = generator.language_model().facts();
    out.spec = &task.spec;
    PreparedAnswers prepared =
        prepare_answers(generator.language_model(), task.spec, route, task_run_options(model, task));
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
    size_t done = out.reused;
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
        done += rows.size();
        if (options.progress) {
            options.progress(done, out.unique_requests);
        }
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
    for (const auto & task : suite.tasks) {
        const auto & path = task.representation ? task.representation->path : task.spec.path;
        store.record_task(task.representation ? task.representation->name : task.spec.name, file_text(path));
    }
    for (const auto & model_spec : suite.models) {
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
        for (const auto & task : suite.tasks) {
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
            for (const AnswerRoute route : task.routes) {
                if (route != AnswerRoute::Loglikelihood && !generator) {
                    generator = local ? std::unique_ptr<AnswerGenerator>(
                                            std::make_unique<GenerationEngine>(*local, engine_options))
                                      : std::make_unique<RemoteGenerator>(*remote, options.cancel);
                }
                auto result = route == AnswerRoute::Loglikelihood
                                  ? run_one(*scorer, model_spec, task, store, run_id, options, planner)
                                  : run_answers_one(*generator, model_spec, task, route, store, run_id, options);
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

void export_suite_results(const SuiteRunResult & run, const std::string & dir) {
    if (run.shard.shard.active()) {
        write_shard_marker(run, dir);
        return;
    }
    std::filesystem::create_directories(dir);
    std::ofstream samples(dir + "/samples.jsonl", std::ios::binary | std::ios::trunc);
    std::ofstream csv(dir + "/summary.csv", std::ios::binary | std::ios::trunc);
    if (!samples || !csv) {
        throw Error(dir + ": cannot write results");
    }
    nlohmann::json summary = nlohmann::json::array();
    csv << "model,family,size,variant,model_sha256,task,route,form,split,prompt,n,boundary_separate,metric,value\n";
    for (const auto & mt : run.results) {
        const auto & spec = *mt.spec;
        for (const auto & r : mt.result.results) {
            auto line = sample_json(spec, mt.result, r);
            line["model"] = mt.model.name;
            line["model_sha256"] = mt.facts.sha256;
            samples << line.dump() << '\n';
        }
        for (const auto & m : mt.result.metrics) {
            auto row = summary_row(mt.model, mt.facts, mt.result.label(), spec.category);
            row.update({{"task_name", spec.name},
                        {"route", mt.result.route},
                        {"form", mt.result.form},
                        {"split", m.split},
                        {"prompt", m.variant},
                        {"n", m.n},
                        {"boundary_separate", m.boundary_separate},
                        {"metrics", m.values}});
            if (mt.result.limit.n > 0) {
                row["limit"] = limit_json(mt.result.limit);
            }
            summary.push_back(std::move(row));
            for (const auto & [metric, value] : m.values) {
                for (const auto & field :
                     {mt.model.name, mt.model.family, mt.model.size, mt.model.variant, mt.facts.sha256,
                      mt.result.label(), mt.result.route, mt.result.form, m.split, m.variant}) {
                    csv << csv_field(field) << ',';
                }
                csv << m.n << ',' << m.boundary_separate << ',' << metric << ',' << value << '\n';
            }
        }
    }
    std::ofstream layers_csv(dir + "/layers.csv", std::ios::binary | std::ios::trunc);
    layers_csv << "model,family,size,variant,model_sha256,task,layer,n,metric,value\n";
    for (const auto & ml : run.layers) {
        for (const auto & m : ml.result.layers) {
            auto row = summary_row(ml.model, ml.facts, ml.spec->name, ml.spec->category);
            row.update({{"layer", m.layer}, {"n", m.n}, {"metrics", m.values}});
            summary.push_back(std::move(row));
            for (const auto & [metric, value] : m.values) {
                for (const auto & field : {ml.model.name, ml.model.family, ml.model.size, ml.model.variant,
                                           ml.facts.sha256, ml.spec->name}) {
                    layers_csv << csv_field(field) << ',';
                }
                layers_csv << m.layer << ',' << m.n << ',' << metric << ',' << value << '\n';
            }
        }
    }
    std::ofstream(dir + "/summary.json", std::ios::binary | std::ios::trunc) << summary.dump(2) << '\n';
    std::ofstream(dir + "/cost.json", std::ios::binary | std::ios::trunc) << cost_json(run).dump(2) << '\n';
}

}  // namespace compeval
