#include "pilot/pilot.hpp"

#include "domains/domain_build.hpp"
#include "lab/zoo.hpp"
#include "runs/run_dir_lock.hpp"
#include "util/error.hpp"
#include "util/yaml_file.hpp"

#include <fmt/core.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace compeval {
namespace {

namespace fs = std::filesystem;

std::string absolute_path(const fs::path & p) {
    return fs::absolute(p).lexically_normal().string();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A suite file's models, their relative paths made absolute (the pilot's
// suite lives elsewhere).
std::vector<YAML::Node> suite_models(const std::string & suite_path) {
    const YAML::Node root = load_yaml_file(suite_path, "suite");
    const YAML::Node models = root["models"];
    if (!models || !models.IsSequence() || models.size() == 0) {
        throw Error(suite_path + ": no models: list to take for the pilot");
    }
    std::vector<YAML::Node> out;
    for (const auto & m : models) {
        YAML::Node copy = YAML::Clone(m);
        if (copy["path"] && !fs::path(copy["path"].as<std::string>()).is_absolute()) {
            copy["path"] = absolute_path(fs::path(suite_path).parent_path() / copy["path"].as<std::string>());
        }
        out.push_back(copy);
    }
    return out;
}

// The zoo file the pilot trains: the given one's settings (or the built-in
// ones) on this domain.
std::string write_zoo_file(const PilotOptions & o, const std::string & domain_path) {
    std::string path = o.out + "/zoo.yaml";
    std::string text;
    if (o.zoo_config.empty()) {
        text = default_pilot_zoo(domain_path);
    } else {
        YAML::Node zoo = YAML::Clone(load_yaml_file(o.zoo_config, "zoo"));
        zoo.remove("language");
        zoo["domain"] = domain_path;
        YAML::Emitter e;
        e << zoo;
        text = std::string("# ") + o.zoo_config + " on " + domain_path + "\n" + e.c_str() + "\n";
    }
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    return path;
}

}  // namespace

std::string default_pilot_zoo(const std::string & domain_path) {
    return fmt::format(
        "# Written by compeval pilot: the lab's size series and instruction-tuning ratios, trained\n"
        "# from scratch on the seen combinations of {0}.\n"
        "name: {1}\n"
        "domain: {0}\n"
        "documents: 6000\n"
        "sizes: [50k, 200k, 1m]\n"
        "seeds: [1, 2, 3]\n"
        "epochs: 4\n"
        "threads: 0\n"
        "instruct:\n"
        "  ratios: [0.1, 0.5]\n"
        "  epochs: 1\n"
        "  learning_rate: 0.001\n",
        domain_path, "pilot-" + fs::path(domain_path).stem().string());
}

PilotResult run_pilot(const PilotOptions & o) {
    PilotResult result;
    const std::string domain_path = absolute_path(o.domain);
    const DomainSpec domain = load_domain_spec(domain_path);
    const RunDirLock lock(o.out, "compeval pilot " + domain_path);
    if (!lock.taken_over_from().empty() && o.log) {
        o.log("note: took over " + lock.path() + " from a pilot that did not finish (" + lock.taken_over_from() + ")");
    }
    const std::string domain_dir = absolute_path(o.out + "/domain");
    const DomainBuild build = build_domain(domain, domain_dir);
    result.combinations = build.items.size();
    result.seen = build.split.train.size();
    result.unseen = build.split.test.size();
    result.left_out = build.left_out.size();

    std::vector<YAML::Node> models;
    if (o.models.empty()) {
        const auto start = std::chrono::steady_clock::now();
        const std::string zoo_file = write_zoo_file(o, domain_path);
        if (o.train_zoo) {
            o.train_zoo(zoo_file, o.zoo_dir);
        } else {
            build_zoo(
                load_zoo_config(zoo_file), o.zoo_dir, o.log ? o.log : [](const std::string &) {});
        }
        result.train_seconds = seconds_since(start);
        models = suite_models(o.zoo_dir + "/suite.yaml");
    }
    for (const auto & m : o.models) {
        const auto ext = fs::path(m).extension().string();
        if (ext == ".yaml" || ext == ".yml") {
            const auto more = suite_models(m);
            models.insert(models.end(), more.begin(), more.end());
        } else if (ext == ".gguf") {
            if (!fs::is_regular_file(m)) {
                throw Error(m + ": model file not found");
            }
            YAML::Node node;
            node["name"] = fs::path(m).stem().string();
            node["path"] = absolute_path(m);
            models.push_back(node);
        } else {
            throw Error("--models " + m + ": expected a suite file (.yaml) or a GGUF model (.gguf)");
        }
    }

    YAML::Node suite;
    suite["name"] = "pilot-" + domain.name;
    for (auto & m : models) {
        m.SetStyle(YAML::EmitterStyle::Flow);
        suite["models"].push_back(m);
    }
    YAML::Node task;
    task["path"] = domain_dir + "/task.yaml";
    task["data_dir"] = domain_dir;
    task.SetStyle(YAML::EmitterStyle::Flow);
    suite["tasks"].push_back(task);
    YAML::Emitter emitter;
    emitter << suite;
    result.suite = absolute_path(o.out + "/suite.yaml");
    std::ofstream(result.suite, std::ios::binary | std::ios::trunc)
        << "# Written by compeval pilot from " << domain_path << "\n"
        << emitter.c_str() << '\n';

    const SuiteSpec spec = load_suite_spec(result.suite);
    const auto start = std::chrono::steady_clock::now();
    ResultsStore store(o.out + "/results.sqlite");
    SuiteRunOptions run;
    run.threads = o.threads;
    run.batch = o.batch;
    run.chunk = o.chunk;
    run.cancel = o.cancel;
    run.progress = o.progress;
    run.log = o.log;
    result.run = run_suite(spec, store, run);
    export_suite_results(result.run, o.out);
    result.run_seconds = seconds_since(start);
    const auto report_start = std::chrono::steady_clock::now();
    result.report = write_report_files(o.out, o.report, report_timestamp());
    result.report_seconds = seconds_since(report_start);
    return result;
}

}  // namespace compeval
