#pragma once
// A suite: which models (with family, size label and variant) run which tasks.
#include "tasks/item_sample.hpp"
#include "tasks/representation_task.hpp"
#include "tasks/task_spec.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace compeval {

struct SuiteModel {
    std::string name;
    std::string path;  // a GGUF file, or empty for a remote model
    // Remote models: an OpenAI-compatible server. The API key is read from the
    // named environment variable at run time and never recorded.
    std::string url;
    std::string server_model;  // the server's model name ("" = the first it lists)
    std::string api_key_env;
    int concurrency = 4;           // requests in flight
    bool cache_prompt = true;      // see RemoteOptions::cache_prompt
    double timeout_seconds = 300;  // one attempt's whole exchange (HttpOptions)
    int max_attempts = 8;          // the first try and `retries:` more
    std::string scoring = "auto";  // see RemoteOptions::scoring
    std::string family;
    std::string size;     // a label such as "7B"
    std::string variant;  // "base" or "instruct"
    // Replicates: models with the same group are one recipe trained with
    // different seeds; the report pools them (seed spread in every interval)
    // and pairs an instruct recipe's seed with its base recipe's same seed.
    std::string group;  // "" = the model is its own recipe
    int64_t seed = -1;  // -1 = not given
    // A quantized variant: `quant` is the weight type it was (or is to be)
    // quantized to ("Q4_K_M"), `quantized_from` the suite model it came from.
    // With a source, the file is made by the runner when missing (beside the
    // source unless `path` says where) and it inherits the source's family,
    // size, variant and seed, and its group with the type appended; the
    // report compares it with that source on the same items.
    std::string quant;
    std::string quantized_from;
};

struct SuiteTask {
    TaskSpec spec;                                     // scoring tasks
    std::optional<RepresentationSpec> representation;  // representational tasks (hidden states)
    ItemLimit limit;  // items per split (n = 0: all); `limit`, `limit_order`, `limit_seed`
    // "plain" scores this task on plain prompts for every model, instruct
    // ones included (e.g. sentence likelihoods); "" follows the model's variant.
    std::string form;
    // How answers are read (`answer:` in the suite, else the task file's
    // scoring.answer); several routes score the task once each.
    std::vector<AnswerRoute> routes;
};

struct SuiteSpec {
    std::string path;
    std::string name;
    std::vector<SuiteModel> models;
    std::vector<SuiteTask> tasks;
};

// Loads the suite, every task file it names and every task's data (splits
// and few-shot pool), so that any malformed input is rejected before scoring
// starts. Relative paths are resolved against the
// suite file's directory. `data_dir` overrides the suite's own data_dir.
SuiteSpec load_suite_spec(const std::string & path, const std::string & data_dir_override = "");

}  // namespace compeval
