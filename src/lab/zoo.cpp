#include "lab/zoo.hpp"

#include "backends/quant_types.hpp"
#include "lab/lab_corpus.hpp"
#include "model/quantize.hpp"
#include "util/error.hpp"
#include "util/file_status.hpp"
#include "util/parallel.hpp"
#include "util/sha256.hpp"
#include "util/yaml_file.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>

namespace compeval {
namespace {

// What determines a model's bytes: the language, its size, seed, schedule,
// threads per model (not how many models train at once) and the trainer.
std::string model_key(const LabCorpus & corpus, const TrainConfig & t, const std::string & size, uint64_t seed) {
    return sha256_string(fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", corpus.key, size, seed, t.epochs, t.batch,
                                     t.learning_rate, t.warmup_share, t.weight_decay, t.threads, kTrainerVersion));
}

// One base model and its instruct variants (each starts from the base, so
// they become ready when it is trained; they are independent of each other).
struct ZooJob {
    std::string size;
    uint64_t seed = 0;
    std::string name;
    std::string key;
    std::vector<std::pair<double, std::string>> variants;  // (ratio, key)
    std::vector<nlohmann::json> records;                   // base first, as zoo.json lists them
    std::optional<LabModel> base;                          // while its variants train
};

// An instruct variant's suffix: "-it0.5" (names of models and recipes).
std::string it_suffix(double ratio) {
    return "-it" + fmt::format("{:g}", ratio);
}

// "FILE:LINE: " of a node, for errors.
std::string where(const std::string & path, const YAML::Node & n) {
    return path + ":" + std::to_string(n.Mark().line + 1) + ": ";
}

// The language's knobs as the zoo file names them; an unknown name is refused
// (a typo would otherwise train a whole zoo on the defaults).
void read_language(const YAML::Node & l, ToyLanguageConfig & c, const std::string & path) {
    const std::map<std::string, std::function<void(const YAML::Node &)>> knobs = {
        {"seed", [&](const YAML::Node & v) { c.seed = v.as<uint64_t>(); }},
        {"nouns", [&](const YAML::Node & v) { c.nouns = v.as<int>(); }},
        {"hypernyms", [&](const YAML::Node & v) { c.hypernyms = v.as<int>(); }},
        {"hypernym_depth", [&](const YAML::Node & v) { c.hypernym_depth = v.as<int>(); }},
        {"adjectives", [&](const YAML::Node & v) { c.adjectives = v.as<int>(); }},
        {"subsective", [&](const YAML::Node & v) { c.subsective_share = v.as<double>(); }},
        {"privative", [&](const YAML::Node & v) { c.privative_share = v.as<double>(); }},
        {"heldout", [&](const YAML::Node & v) { c.heldout_share = v.as<double>(); }},
        {"rare", [&](const YAML::Node & v) { c.rare_share = v.as<double>(); }},
        {"rare_evidence", [&](const YAML::Node & v) { c.rare_evidence = v.as<int>(); }},
        {"stacked", [&](const YAML::Node & v) { c.stacked_share = v.as<double>(); }},
        {"context", [&](const YAML::Node & v) { c.context_share = v.as<double>(); }},
        {"distractors", [&](const YAML::Node & v) { c.distractor_share = v.as<double>(); }},
        {"compound_sentences", [&](const YAML::Node & v) { c.compound_share = v.as<double>(); }},
        {"noise", [&](const YAML::Node & v) { c.noise = v.as<double>(); }},
        {"compounds", [&](const YAML::Node & v) { c.compounds = v.as<int>(); }},
        {"exocentric", [&](const YAML::Node & v) { c.exocentric_share = v.as<double>(); }},
        {"train_sentences", [&](const YAML::Node & v) { c.train_sentences = v.as<size_t>(); }},
        {"validation_sentences", [&](const YAML::Node & v) { c.validation_sentences = v.as<size_t>(); }},
        {"eval_items", [&](const YAML::Node & v) { c.eval_items_per_split = v.as<size_t>(); }},
    };
    if (!l.IsMap()) {
        throw Error(where(path, l) + "field 'language' must be a map of knobs");
    }
    for (const auto & entry : l) {
        const auto name = entry.first.as<std::string>();
        const auto knob = knobs.find(name);
        if (knob == knobs.end()) {
            std::vector<std::string> known;
            for (const auto & k : knobs) {
                known.push_back(k.first);
            }
            check_keys(l, known, path, "language");
        }
        knob->second(entry.second);
    }
}

// A quantized variant of a trained model, made (or kept: its record names
// the source bytes) beside it, and its zoo.json record: the source's recipe
// with the type appended, the same size, seed and variant.
template <typename Log>
nlohmann::json quantized_record(const nlohmann::json & source, const std::string & type, const std::string & dir,
                                ZooBuild & build, const Log & log) {
    const std::string name = source["name"].get<std::string>();
    const std::string path = dir + "/" + name + ".gguf";
    const std::string out = quantized_path_beside(path, type);
    if (ensure_quantized(path, out, type)) {
        ++build.quantized;
        log(fmt::format("{}: quantized to {}", name, type));
    }
    nlohmann::json record = {{"name", name + "-" + quant_suffix(type)},
                             {"recipe", source.value("recipe", name) + "-" + quant_suffix(type)},
                             {"size", source["size"]},
                             {"seed", source["seed"]},
                             {"variant", source.value("variant", "base")},
                             {"n_params", source["n_params"]},
                             {"quant", type},
                             {"quantized_from", name},
                             {"epochs", nlohmann::json::array()}};
    if (source.contains("it_ratio")) {
        record["it_ratio"] = source["it_ratio"];
    }
    return record;
}

}  // namespace

LabModelShape lab_size(const std::string & name) {
    if (name == "50k") {
        return {32, 2, 4, 64, 64};
    }
    if (name == "200k") {
        return {64, 2, 4, 172, 64};
    }
    if (name == "1m") {
        return {128, 4, 4, 344, 64};
    }
    if (name == "5m") {
        return {256, 6, 8, 688, 64};
    }
    throw Error("unknown lab size '" + name + "' (50k, 200k, 1m, 5m)");
}

namespace {

ZooConfig read_zoo_config(const std::string & path) {
    const YAML::Node root = load_yaml_file(path, "zoo");
    check_keys(
        root,
        {"name", "language", "domain", "documents", "sizes", "seeds", "epochs", "threads", "instruct", "quantize"},
        path, "");
    if (root["language"] && root["domain"]) {
        throw Error(where(path, root["domain"]) + "a zoo trains on a toy language or a domain, not both");
    }
    check_keys(root["instruct"], {"ratios", "narrow", "epochs", "learning_rate"}, path, "instruct");
    ZooConfig c;
    c.path = path;
    try {
        c.name = root["name"].as<std::string>("zoo");
        if (const auto l = root["language"]) {
            read_language(l, c.language, path);
        }
        if (const auto d = root["domain"]) {
            // Relative to the zoo file, like a suite's paths.
            const std::filesystem::path domain(d.as<std::string>());
            c.domain = domain.is_absolute()
                           ? domain.string()
                           : (std::filesystem::path(path).parent_path() / domain).lexically_normal().string();
            if (const auto problem = file_problem(c.domain)) {
                throw Error(where(path, d) + "domain file " + c.domain + " " + *problem);
            }
        }
        c.documents = root["documents"].as<size_t>(c.documents);
        c.sizes = root["sizes"].as<std::vector<std::string>>(std::vector<std::string>{"50k", "200k", "1m"});
        c.seeds = root["seeds"].as<std::vector<uint64_t>>(std::vector<uint64_t>{1});
        c.train.epochs = root["epochs"].as<int>(c.train.epochs);
        c.threads = root["threads"].as<int>(c.threads);
        if (const auto it = root["instruct"]) {
            c.instruct.ratios = it["ratios"].as<std::vector<double>>(std::vector<double>{});
            c.instruct.narrow = it["narrow"].as<bool>(false);
            c.instruct.epochs = it["epochs"].as<int>(c.instruct.epochs);
            c.instruct.learning_rate = it["learning_rate"].as<double>(c.instruct.learning_rate);
        }
    } catch (const YAML::Exception & e) {
        throw Error(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (const auto q = root["quantize"]) {
        if (!q.IsSequence()) {
            throw Error(where(path, q) + "quantize must be a list of weight types, e.g. [Q8_0, Q4_K_M]");
        }
        for (const auto & t : q) {
            try {
                c.quantize.push_back(quant_type(t.as<std::string>()).name);
            } catch (const Error & e) {
                throw Error(where(path, t) + e.what());
            }
        }
    }
    if (c.threads < 0) {
        throw Error(where(path, root["threads"]) + "threads must be 0 (one per core) or more");
    }
    for (const auto & s : c.sizes) {
        try {
            lab_size(s);
        } catch (const Error & e) {
            throw Error(where(path, root["sizes"]) + e.what());
        }
    }
    return c;
}

}  // namespace

ZooConfig load_zoo_config(const std::string & path) {
    return with_yaml_errors(path, "zoo", [&] { return read_zoo_config(path); });
}

ZooBuild build_zoo(const ZooConfig & config, const std::string & dir,
                   const std::function<void(const std::string &)> & log) {
    namespace fs = std::filesystem;
    fs::create_directories(dir);
    const LabCorpus corpus =
        config.domain.empty()
            ? toy_language_corpus(config.language, dir + "/language")
            : domain_corpus({config.domain, config.documents, config.documents / 10, 1}, dir + "/domain");
    const auto & train = corpus.train;
    const auto & validation = corpus.validation;

    // Each model trains on one thread (its bytes do not depend on how many
    // train at once), `threads` of them side by side.
    TrainConfig train_config = config.train;
    train_config.threads = 1;
    std::mutex log_mutex;
    const auto log_line = [&](const std::string & line) {
        const std::lock_guard<std::mutex> lock(log_mutex);
        log(line);
    };

    auto record_of = [&](const std::string & gguf, const std::string & key) {
        nlohmann::json record;
        if (fs::exists(gguf) && fs::exists(gguf + ".json")) {
            std::ifstream in(gguf + ".json");
            record = nlohmann::json::parse(in, nullptr, false);
        }
        return record.is_object() && record.value("key", "") == key ? record : nlohmann::json();
    };
    // Written under a temporary name: an interrupted build never leaves a half model.
    auto save = [&](const LabModel & model, const TrainResult & result, nlohmann::json record, const std::string & gguf,
                    const std::string & chat_template) {
        model.export_gguf(corpus.vocab_gguf, gguf + ".tmp", "compeval-lab-" + record["name"].get<std::string>(),
                          {{"compeval.lab.size", record["size"].get<std::string>()},
                           {"compeval.lab.key", record["key"].get<std::string>()}},
                          chat_template);
        fs::rename(gguf + ".tmp", gguf);
        record.update({{"n_params", result.n_params},
                       {"unigram_loss", result.unigram_loss},
                       {"tokens_per_second", result.tokens_per_second},
                       {"trainer", kTrainerVersion},
                       {"train_threads", resolve_threads(train_config.threads)},
                       {"epochs", nlohmann::json::array()}});
        double seconds = 0;
        for (const auto & e : result.epochs) {
            record["epochs"].push_back({{"epoch", e.epoch},
                                        {"train_loss", e.train_loss},
                                        {"validation_loss", e.validation_loss},
                                        {"seconds", e.seconds}});
            seconds += e.seconds;
        }
        record["train_seconds"] = seconds;
        std::ofstream(gguf + ".json") << record.dump(2) << '\n';
        log_line(fmt::format("{}: validation loss {:.4f} (unigram {:.4f}) in {:.1f} s",
                             record["name"].get<std::string>(), result.epochs.back().validation_loss,
                             result.unigram_loss, seconds));
        return record;
    };

    ZooBuild build;
    std::vector<ZooJob> jobs;
    std::vector<size_t> to_train;
    for (const auto & size : config.sizes) {
        for (const uint64_t seed : config.seeds) {
            ZooJob job;
            job.size = size;
            job.seed = seed;
            job.name = size + "-s" + std::to_string(seed);
            job.key = model_key(corpus, train_config, size, seed);
            for (const double ratio : config.instruct.ratios) {
                job.variants.emplace_back(
                    ratio, sha256_string(fmt::format("{}|it|{}|{}|{}|{}|{}", job.key, ratio, config.instruct.narrow,
                                                     config.instruct.epochs, config.instruct.learning_rate,
                                                     kLabChatTemplate)));
            }
            job.records.push_back(record_of(dir + "/" + job.name + ".gguf", job.key));
            for (const auto & [ratio, vkey] : job.variants) {
                job.records.push_back(record_of(dir + "/" + job.name + it_suffix(ratio) + ".gguf", vkey));
            }
            if (std::none_of(job.records.begin(), job.records.end(), [](const auto & r) { return r.is_null(); })) {
                build.reused += job.records.size();
                log_line(fmt::format("{}: built already (same config), kept with its {} instruct variant(s)", job.name,
                                     job.variants.size()));
            } else {
                to_train.push_back(jobs.size());
            }
            jobs.push_back(std::move(job));
        }
    }
    // A task's cost for the scheduler: weights per layer times epochs over the
    // pre-training data. A task id is job * per_job, plus v + 1 for variant v.
    const auto cost = [&](const std::string & size, double epochs) {
        const auto shape = lab_size(size);
        return static_cast<double>(shape.n_layer) * shape.n_embd * (shape.n_embd + shape.n_ff) * epochs;
    };
    const size_t per_job = 1 + config.instruct.ratios.size();
    std::vector<CostedTask> ready;
    for (const size_t j : to_train) {
        ready.push_back({j * per_job, cost(jobs[j].size, config.train.epochs)});
        jobs[j].records.assign(per_job, nlohmann::json());
    }
    const auto train_base = [&](ZooJob & job) {
        // The base is retrained (deterministically) when any of its variants is missing.
        LabModelShape shape = lab_size(job.size);
        shape.n_ctx = corpus.n_ctx > 0 ? corpus.n_ctx : shape.n_ctx;
        job.base.emplace(shape, static_cast<int>(corpus.n_vocab), job.seed);
        log_line(fmt::format("{}: training {} parameters", job.name, job.base->n_params()));
        TrainConfig base_config = train_config;
        base_config.seed = job.seed;
        const auto result = job.base->train(train, validation, base_config);
        job.records[0] = save(*job.base, result,
                              {{"key", job.key},
                               {"name", job.name},
                               {"recipe", job.size},
                               {"size", job.size},
                               {"seed", job.seed},
                               {"variant", "base"}},
                              dir + "/" + job.name + ".gguf", "");
    };
    const auto train_variant = [&](ZooJob & job, size_t v) {
        // Instruction tuning: the pre-training data plus ratio x as many
        // instruction examples (on seen combinations only), from the base.
        const auto & [ratio, vkey] = job.variants[v];
        const std::string vname = job.name + it_suffix(ratio);
        auto mix = train;
        const auto examples = corpus.instructions(static_cast<size_t>(ratio * static_cast<double>(train.size())),
                                                  config.instruct.narrow, job.seed + 101);
        mix.insert(mix.end(), examples.begin(), examples.end());
        LabModel tuned = job.base->clone();
        TrainConfig it_config = train_config;
        it_config.seed = job.seed;
        it_config.epochs = config.instruct.epochs;
        it_config.learning_rate = config.instruct.learning_rate;
        log_line(fmt::format("{}: instruction tuning with {} examples", vname, examples.size()));
        const auto it_result = tuned.train(mix, validation, it_config);
        job.records[v + 1] = save(tuned, it_result,
                                  {{"key", vkey},
                                   {"name", vname},
                                   {"recipe", job.size + it_suffix(ratio)},
                                   {"size", job.size},
                                   {"seed", job.seed},
                                   {"variant", "instruct"},
                                   {"it_ratio", ratio},
                                   {"it_narrow", config.instruct.narrow},
                                   {"base", job.name}},
                                  dir + "/" + vname + ".gguf", kLabChatTemplate);
    };
    run_costliest_first(ready, resolve_threads(config.threads), [&](size_t id) {
        ZooJob & job = jobs[id / per_job];
        std::vector<CostedTask> made_ready;
        if (id % per_job == 0) {
            train_base(job);
            for (size_t v = 0; v < job.variants.size(); ++v) {
                // A variant trains on the pre-training data and ratio x as much again.
                made_ready.push_back(
                    {id + 1 + v, cost(job.size, config.instruct.epochs * (1.0 + job.variants[v].first))});
            }
        } else {
            train_variant(job, id % per_job - 1);
        }
        return made_ready;
    });
    for (const size_t j : to_train) {  // all of them: a failure would have thrown
        build.trained += jobs[j].records.size();
    }
    nlohmann::json models = nlohmann::json::array();
    for (const auto & job : jobs) {
        for (const auto & r : job.records) {
            models.push_back(r);
        }
        for (const auto & r : job.records) {
            for (const auto & type : config.quantize) {
                models.push_back(quantized_record(r, type, dir, build, log_line));
            }
        }
    }
    std::ofstream(dir + "/zoo.json") << nlohmann::json{{"name", config.name},
                                                       {"config", config.path},
                                                       {"language", corpus.description},
                                                       {"models", models}}
                                            .dump(2)
                                     << '\n';
    std::ofstream suite(dir + "/suite.yaml");
    suite << "# Generated by compeval lab zoo from " << config.path << "\nname: lab-" << config.name << "\nmodels:\n";
    for (const auto & m : models) {
        // One family: the findings compare each instruct recipe with the base
        // of its size, and the base recipes along the size series; a group is
        // a recipe, its seeds pooled.
        suite << "  - {name: " << m["name"].get<std::string>() << ", path: " << m["name"].get<std::string>()
              << ".gguf, family: lab, size: " << m["size"].get<std::string>()
              << ", variant: " << m.value("variant", "base")
              << ", group: " << m.value("recipe", m["name"].get<std::string>())
              << ", seed: " << m["seed"].get<uint64_t>();
        if (m.contains("quant")) {
            suite << ", quant: " << m["quant"].get<std::string>()
                  << ", quantized_from: " << m["quantized_from"].get<std::string>();
        }
        suite << "}\n";
    }
    suite << "tasks:\n" << corpus.suite_tasks;
    return build;
}

Zoo read_zoo(const std::string & dir) {
    const std::string path = dir + "/zoo.json";
    std::ifstream in(path);
    if (!in) {
        throw Error(path + ": cannot open (not a zoo built by compeval lab zoo?)");
    }
    Zoo zoo;
    try {
        const auto j = nlohmann::json::parse(in);
        zoo.name = j.at("name").get<std::string>();
        zoo.language = j.value("language", "");
        for (const auto & m : j.at("models")) {
            ZooModel z;
            z.name = m.at("name").get<std::string>();
            z.recipe = m.value("recipe", z.name);
            z.size = m.at("size").get<std::string>();
            z.variant = m.value("variant", "base");
            z.seed = m.at("seed").get<uint64_t>();
            z.it_ratio = m.value("it_ratio", 0.0);
            z.quant = m.value("quant", "");
            z.quantized_from = m.value("quantized_from", "");
            z.n_params = m.at("n_params").get<int64_t>();
            z.train_seconds = m.value("train_seconds", 0.0);
            z.unigram_loss = m.value("unigram_loss", 0.0);
            const auto & epochs = m.at("epochs");
            z.validation_loss = epochs.empty() ? 0.0 : epochs.back().at("validation_loss").get<double>();
            z.path = dir + "/" + z.name + ".gguf";
            z.present = is_file(z.path);
            zoo.models.push_back(std::move(z));
        }
    } catch (const nlohmann::json::exception & e) {
        throw Error(path + ": malformed zoo record: " + e.what());
    }
    return zoo;
}

}  // namespace compeval
