// export_suite_results (suite_runner.hpp): the files a finished run leaves
// in its directory, every one rebuilt from the run's results.
#include "runs/suite_runner.hpp"

#include "tasks/task_runner.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"
#include "util/file_manifest.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

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

}  // namespace

void export_suite_results(const SuiteRunResult & run, const std::string & dir) {
    if (run.shard.shard.active()) {
        write_shard_marker(run, dir);
        return;
    }
    std::filesystem::create_directories(dir);
    // Each file is replaced whole or not at all; the manifest, written last,
    // vouches for the set (file_manifest.hpp).
    remove_export_manifest(dir);
    AtomicFile samples_file(dir + "/samples.jsonl");
    AtomicFile csv_file(dir + "/summary.csv");
    AtomicFile layers_file(dir + "/layers.csv");
    auto & samples = samples_file.out();
    auto & csv = csv_file.out();
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
    auto & layers_csv = layers_file.out();
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
    samples_file.commit();
    csv_file.commit();
    layers_file.commit();
    write_file_atomically(dir + "/summary.json", summary.dump(2) + "\n");
    write_file_atomically(dir + "/cost.json", cost_json(run).dump(2) + "\n");
    write_export_manifest(dir, {"samples.jsonl", "summary.json", "summary.csv", "layers.csv", "cost.json"});
}

}  // namespace compeval
