#include "runs/suite_spec.hpp"

#include "backends/gguf_check.hpp"
#include "backends/quant_types.hpp"
#include "model/quantize.hpp"
#include "util/error.hpp"
#include "util/file_status.hpp"
#include "util/yaml_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace compeval {
namespace {

std::string resolve(const std::filesystem::path & base, const std::string & p) {
    const std::filesystem::path path(p);
    if (path.is_absolute()) {
        return p;
    }
    auto normal = (base / path).lexically_normal();
    // "dir/." normalizes to "dir/"; drop the slash so "{data_dir}/x" stays clean.
    if (!normal.has_filename() && normal.has_parent_path()) {
        normal = normal.parent_path();
    }
    return normal.string();
}

// A quantized model names a local, unquantized model of the suite as its
// source and inherits what it does not say; its file defaults to one beside
// the source.
template <typename Fail>
void resolve_quantized_sources(SuiteSpec & suite, const YAML::Node & nodes, const Fail & fail) {
    for (size_t i = 0; i < suite.models.size(); ++i) {
        SuiteModel & model = suite.models[i];
        if (model.quantized_from.empty()) {
            continue;
        }
        const YAML::Node node = nodes[i];
        const auto source = std::find_if(suite.models.begin(), suite.models.end(),
                                         [&](const SuiteModel & m) { return m.name == model.quantized_from; });
        if (source == suite.models.end()) {
            fail(node["quantized_from"], "model '" + model.name + "': quantized_from names no model of the suite ('" +
                                             model.quantized_from + "')");
        }
        if (!source->url.empty() || !source->quantized_from.empty() || !is_file(source->path)) {
            fail(node["quantized_from"],
                 "model '" + model.name + "': its source '" + source->name +
                     "' must be a GGUF file of the suite, not a server or another quantized model");
        }
        if (model.path.empty()) {
            model.path = quantized_path_beside(source->path, model.quant);
        }
        if (!node["family"]) {
            model.family = source->family;
        }
        if (!node["size"]) {
            model.size = source->size;
        }
        if (!node["variant"]) {
            model.variant = source->variant;
        }
        if (!node["seed"]) {
            model.seed = source->seed;
        }
        if (!node["group"] && !source->group.empty()) {
            model.group = source->group + "-" + quant_suffix(model.quant);
        }
    }
}

}  // namespace

namespace {

SuiteSpec read_suite_spec(const std::string & path, const std::string & data_dir_override) {
    const YAML::Node root = load_yaml_file(path, "suite");
    auto fail = [&](const YAML::Node & node, const std::string & message) {
        const int line = node.IsDefined() ? node.Mark().line + 1 : 0;
        throw Error(path + ":" + (line > 0 ? std::to_string(line) + ": " : " ") + message);
    };
    auto text = [&](const YAML::Node & parent, const char * key, bool required) -> std::string {
        const YAML::Node node = parent[key];
        if (!node) {
            if (required) {
                fail(parent, std::string("missing field '") + key + "'");
            }
            return "";
        }
        if (!node.IsScalar()) {
            fail(node, std::string("field '") + key + "' must be a string");
        }
        return node.as<std::string>();
    };
    if (!root.IsMap()) {
        fail(root, "a suite file must be a mapping");
    }
    check_keys(root, {"name", "data_dir", "models", "tasks"}, path, "");
    const auto base = std::filesystem::path(path).parent_path();
    SuiteSpec suite;
    suite.path = path;
    suite.name = text(root, "name", true);
    const std::string data_dir = !data_dir_override.empty() ? data_dir_override
                                 : root["data_dir"]         ? resolve(base, text(root, "data_dir", false))
                                                            : resolve(base, "../shared/data");

    const YAML::Node models = root["models"];
    if (!models || !models.IsSequence() || models.size() == 0) {
        fail(models ? models : root, "field 'models' must be a non-empty list");
    }
    std::set<std::string> names;
    for (const auto & m : models) {
        check_keys(m,
                   {"name", "path", "url", "model", "api_key_env", "cache_prompt", "concurrency", "timeout", "retries",
                    "scoring", "family", "size", "variant", "group", "seed", "quant", "quantized_from"},
                   path, "models[]");
        SuiteModel model;
        model.name = text(m, "name", true);
        if (m["url"] && m["path"]) {
            fail(m, "model '" + model.name + "': give either path (a GGUF file) or url (a server), not both");
        }
        if (m["url"]) {
            model.url = text(m, "url", false);
            model.server_model = text(m, "model", false);
            model.api_key_env = text(m, "api_key_env", false);
            if (m["scoring"]) {
                model.scoring = text(m, "scoring", false);
                if (model.scoring != "auto" && model.scoring != "forced_tokens" && model.scoring != "echo") {
                    fail(m["scoring"], "model '" + model.name + "': scoring must be auto, forced_tokens or echo");
                }
            }
            if (m["cache_prompt"]) {
                model.cache_prompt = text(m, "cache_prompt", false) != "false";
            }
            if (m["concurrency"]) {
                try {
                    model.concurrency = m["concurrency"].as<int>();
                } catch (const YAML::Exception &) {
                    model.concurrency = 0;
                }
                if (model.concurrency < 1) {
                    fail(m["concurrency"], "model '" + model.name + "': concurrency must be a positive integer");
                }
            }
            if (m["timeout"]) {
                try {
                    model.timeout_seconds = m["timeout"].as<double>();
                } catch (const YAML::Exception &) {
                    model.timeout_seconds = 0;
                }
                if (!(model.timeout_seconds > 0)) {
                    fail(m["timeout"], "model '" + model.name + "': timeout must be a positive number of seconds");
                }
            }
            if (m["retries"]) {
                try {
                    model.max_attempts = m["retries"].as<int>() + 1;
                } catch (const YAML::Exception &) {
                    model.max_attempts = 0;
                }
                if (model.max_attempts < 1) {
                    fail(m["retries"], "model '" + model.name + "': retries must be a whole number >= 0");
                }
            }
        } else {
            model.quantized_from = text(m, "quantized_from", false);
            model.path = model.quantized_from.empty() || m["path"] ? resolve(base, text(m, "path", true)) : "";
        }
        if (m["quant"]) {
            try {
                model.quant = quant_type(text(m, "quant", false)).name;
            } catch (const Error & e) {
                fail(m["quant"], "model '" + model.name + "': " + e.what());
            }
        } else if (!model.quantized_from.empty()) {
            fail(m, "model '" + model.name + "': quantized_from needs quant (the weight type, e.g. Q4_K_M)");
        }
        if (!model.url.empty() && !model.quant.empty()) {
            fail(m["quant"], "model '" + model.name + "': quant is for GGUF files (a server's weights are its own)");
        }
        model.family = text(m, "family", false);
        model.size = text(m, "size", false);
        model.variant = m["variant"] ? text(m, "variant", false) : "base";
        model.group = text(m, "group", false);
        if (m["seed"]) {
            try {
                model.seed = m["seed"].as<int64_t>();
            } catch (const YAML::Exception &) {
                model.seed = -1;
            }
            if (model.seed < 0) {
                fail(m["seed"], "model '" + model.name + "': seed must be a non-negative integer");
            }
        }
        if (!names.insert(model.name).second) {
            fail(m["name"], "duplicate model name '" + model.name + "'");
        }
        if (model.variant != "base" && model.variant != "instruct") {
            fail(m["variant"],
                 "model '" + model.name + "': variant must be base or instruct, not '" + model.variant + "'");
        }
        if (model.url.empty() && model.quantized_from.empty()) {
            if (const auto problem = file_problem(model.path)) {
                fail(m["path"], "model '" + model.name + "': " + model.path + " " + *problem);
            }
        }
        if (!model.quant.empty() && is_file(model.path)) {
            // A label the file contradicts would put the model in the wrong comparison.
            const auto declared = quant_type_of_file_type(check_gguf_file(model.path).file_type);
            if (!declared.empty() && declared != model.quant) {
                fail(m["quant"], "model '" + model.name + "': quant " + model.quant + " but " + model.path + " is " +
                                     declared + " (general.file_type)");
            }
        }
        suite.models.push_back(std::move(model));
    }
    resolve_quantized_sources(suite, models, fail);

    const YAML::Node tasks = root["tasks"];
    if (!tasks || !tasks.IsSequence() || tasks.size() == 0) {
        fail(tasks ? tasks : root, "field 'tasks' must be a non-empty list");
    }
    std::set<std::string> task_names;
    for (const auto & t : tasks) {
        SuiteTask task;
        check_keys(t, {"path", "limit", "limit_order", "limit_seed", "form", "data_dir", "answer"}, path, "tasks[]");
        const std::string task_path = resolve(base, t.IsScalar() ? t.as<std::string>() : text(t, "path", true));
        if (t.IsMap() && t["limit"]) {
            try {
                task.limit.n = t["limit"].as<size_t>();
            } catch (const YAML::Exception &) {
                fail(t["limit"], "field 'limit' must be a non-negative integer");
            }
        }
        if (t.IsMap() && t["limit_order"]) {
            try {
                task.limit.order = limit_order_from_name(text(t, "limit_order", false));
            } catch (const Error & e) {
                fail(t["limit_order"], e.what());
            }
        }
        if (t.IsMap() && t["limit_seed"]) {
            try {
                task.limit.seed = t["limit_seed"].as<uint64_t>();
            } catch (const YAML::Exception &) {
                fail(t["limit_seed"], "field 'limit_seed' must be a non-negative integer");
            }
        }
        if (t.IsMap() && t["form"]) {
            task.form = text(t, "form", false);
            if (task.form != "plain") {
                fail(t["form"], "field 'form' must be plain (or absent: the model's variant decides)");
            }
        }
        // A task whose data lives elsewhere (e.g. AddOne-RTE) names its own folder.
        const std::string task_data_dir =
            t.IsMap() && t["data_dir"] ? resolve(base, text(t, "data_dir", false)) : data_dir;
        std::string name;
        if (is_representation_task(task_path)) {
            task.representation = load_representation_spec(task_path, task_data_dir);
            representation_requests(*task.representation);  // reads and checks its data
            name = task.representation->name;
        } else {
            task.spec = load_task_spec(task_path, task_data_dir);
            check_task_data(task.spec);
            name = task.spec.name;
            task.routes = {task.spec.answer.route};
            if (t.IsMap() && t["answer"]) {
                // One route, or several: the task is scored each way (a scoring-method comparison).
                const YAML::Node answer = t["answer"];
                task.routes.clear();
                try {
                    const auto names = answer.IsSequence() ? answer.as<std::vector<std::string>>()
                                                           : std::vector<std::string>{answer.as<std::string>()};
                    for (const auto & r : names) {
                        const AnswerRoute route = parse_answer_route(r);
                        check_answer_route(task.spec, route);
                        if (std::find(task.routes.begin(), task.routes.end(), route) != task.routes.end()) {
                            throw Error(std::string("route '") + answer_route_name(route) + "' is listed twice");
                        }
                        task.routes.push_back(route);
                    }
                } catch (const YAML::Exception &) {
                    fail(answer,
                         "field 'answer' must be a route or a list of routes (loglikelihood, first_token, "
                         "generate)");
                } catch (const Error & e) {
                    fail(answer, "task '" + name + "': field 'answer': " + e.what());
                }
                if (task.routes.empty()) {
                    fail(answer, "field 'answer' lists no route");
                }
            }
        }
        if (!task_names.insert(name).second) {
            fail(t, "duplicate task '" + name + "'");
        }
        suite.tasks.push_back(std::move(task));
    }
    return suite;
}

}  // namespace

SuiteSpec load_suite_spec(const std::string & path, const std::string & data_dir_override) {
    return with_yaml_errors(path, "suite", [&] { return read_suite_spec(path, data_dir_override); });
}

}  // namespace compeval
