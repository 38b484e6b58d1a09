#pragma once
// A model zoo: one toy language and a size series trained on it, built from a
// config file, resumable (a model whose config is unchanged is not trained
// again), and described for the rest of compeval: zoo.json (every model's
// facts and training record) and suite.yaml (the zoo x the language's task).
#include "lab/toy_language.hpp"
#include "lab/trainer.hpp"

#include <functional>
#include <string>
#include <vector>

namespace compeval {

struct ZooConfig {
    std::string path;  // the YAML file
    std::string name;
    ToyLanguageConfig language;
    std::vector<std::string> sizes;  // lab size names: 50k, 200k, 1m, 5m
    std::vector<uint64_t> seeds;
    TrainConfig train;
    struct Instruct {
        std::vector<double> ratios;  // instruction examples per pre-training sentence; one variant each
        bool narrow = false;         // one question format (AN=>N) instead of all three inference types
        int epochs = 1;
        double learning_rate = 1e-3;
    } instruct;
};

// Throws compeval::Error "FILE:LINE: ..." on a malformed file.
ZooConfig load_zoo_config(const std::string & path);

LabModelShape lab_size(const std::string & name);  // throws for an unknown name

struct ZooBuild {
    size_t trained = 0;  // models trained by this call
    size_t reused = 0;   // models already built with the same config
};

// Builds (or resumes) the zoo into `dir`; `log` gets one line per event.
ZooBuild build_zoo(const ZooConfig & config, const std::string & dir,
                   const std::function<void(const std::string &)> & log);

}  // namespace compeval
