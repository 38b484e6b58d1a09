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
    // A user's domain instead of the toy language (`domain: FILE`, relative to
    // the zoo file): the models learn its seen combinations (domain_corpus).
    std::string domain;
    size_t documents = 3000;         // the domain's pre-training documents (validation: a tenth as many)
    std::vector<std::string> sizes;  // lab size names: 50k, 200k, 1m, 5m
    std::vector<uint64_t> seeds;
    TrainConfig train;  // its `threads` is set by build_zoo from `threads` below
    // Models trained side by side, each on one thread (0: one per core), so a
    // model's bytes do not depend on it.
    int threads = 0;
    struct Instruct {
        std::vector<double> ratios;  // instruction examples per pre-training sentence; one variant each
        bool narrow = false;         // one question format (AN=>N) instead of all three inference types
        int epochs = 1;
        double learning_rate = 1e-3;
    } instruct;
    // Quantized variants of every trained model (`quantize: [Q8_0, Q4_K_M]`),
    // made with llama.cpp's quantizer after training and kept like the rest.
    std::vector<std::string> quantize;
};

// Throws compeval::Error "FILE:LINE: ..." on a malformed file.
ZooConfig load_zoo_config(const std::string & path);

LabModelShape lab_size(const std::string & name);  // throws for an unknown name

struct ZooBuild {
    size_t trained = 0;    // models trained by this call
    size_t reused = 0;     // models already built with the same config
    size_t quantized = 0;  // quantized variants made by this call (the others were kept)
};

// Builds (or resumes) the zoo into `dir`; `log` gets one line per event.
ZooBuild build_zoo(const ZooConfig & config, const std::string & dir,
                   const std::function<void(const std::string &)> & log);

// One model of a built zoo, as zoo.json records it.
struct ZooModel {
    std::string name;
    std::string recipe;   // the seeds of one recipe share it: "1m", "1m-it0.5"
    std::string size;     // lab size name
    std::string variant;  // base or instruct
    uint64_t seed = 0;
    double it_ratio = 0;  // instruct variants
    std::string quant;    // quantized variants: the weight type, and the model they were made from
    std::string quantized_from;
    int64_t n_params = 0;
    double train_seconds = 0;
    double validation_loss = 0;  // after the last epoch
    double unigram_loss = 0;
    std::string path;  // the GGUF
    bool present = false;
};

struct Zoo {
    std::string name;
    std::string language;  // describe() of its language
    std::vector<ZooModel> models;
};

// Reads DIR/zoo.json; throws compeval::Error naming the file when it is
// missing or malformed.
Zoo read_zoo(const std::string & dir);

}  // namespace compeval
