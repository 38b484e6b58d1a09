#pragma once
// What a zoo trains on, whatever it came from: the toy language
// (toy_language.hpp) or a user's domain (domain_corpus.cpp). A corpus is a
// tokenizer (a vocab GGUF every model copies), pre-training and validation
// sequences as token ids, the instruction examples its instruct variants are
// tuned on, and the suite tasks that evaluate the models on seen and unseen
// combinations.
#include "lab/toy_language.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace compeval {

struct LabCorpus {
    std::string key;          // what determines the sequences (part of every model's key)
    std::string description;  // zoo.json's "language"
    std::string vocab_gguf;
    size_t n_vocab = 0;
    int n_ctx = 0;  // longest sequence a model must hold; 0: the lab size's own
    std::vector<std::vector<int>> train;
    std::vector<std::vector<int>> validation;
    // `count` instruction examples (token ids) on seen combinations only.
    std::function<std::vector<std::vector<int>>(size_t count, bool narrow, uint64_t seed)> instructions;
    std::string suite_tasks;  // the suite's `tasks:` entries, one YAML line each, paths relative to the zoo
};

// The toy language's corpus, written into `dir` (write_toy_language).
LabCorpus toy_language_corpus(const ToyLanguageConfig & config, const std::string & dir);

struct DomainCorpusConfig {
    std::string path;         // the domain file (compeval domain's format)
    size_t documents = 3000;  // pre-training documents
    size_t validation = 300;
    uint64_t seed = 1;
};

// A user's domain as a corpus, written into `dir`: the domain's items and
// compositional split (compeval domain's files), and documents shaped like
// the domain task's own prompts, over *seen* combinations only: pre-training
// documents are 1 to k+1 plain examples with their answers (as a k-shot
// prompt reads), instruction examples the same in the chat form, rendered by
// the lab's chat template. The vocabulary holds the pieces these texts cut
// into (words, and runs of one script for text without spaces, such as
// Japanese); every sequence is tokenized by llama.cpp itself, so the ids are
// the ones scoring reads.
LabCorpus domain_corpus(const DomainCorpusConfig & config, const std::string & dir);

}  // namespace compeval
