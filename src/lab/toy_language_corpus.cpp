#include "lab/lab_corpus.hpp"
#include "lab/word_vocab.hpp"

#include <memory>

namespace compeval {
namespace {

std::vector<std::vector<int>> encode_all(const WordVocab & vocab, const std::vector<std::string> & sentences) {
    std::vector<std::vector<int>> out;
    out.reserve(sentences.size());
    for (const auto & s : sentences) {
        out.push_back(vocab.encode(s));
    }
    return out;
}

}  // namespace

LabCorpus toy_language_corpus(const ToyLanguageConfig & config, const std::string & dir) {
    auto language = std::make_shared<const ToyLanguage>(generate_toy_language(config));
    write_toy_language(*language, dir);
    auto vocab = std::make_shared<const WordVocab>(language->words());
    LabCorpus corpus;
    corpus.key = describe(config);
    corpus.description = describe(config);
    corpus.vocab_gguf = dir + "/vocab.gguf";
    vocab->write_gguf(corpus.vocab_gguf);
    corpus.n_vocab = vocab->size();
    corpus.train = encode_all(*vocab, language->train);
    corpus.validation = encode_all(*vocab, language->validation);
    corpus.instructions = [language, vocab](size_t count, bool narrow, uint64_t seed) {
        return encode_all(*vocab, instruction_examples(*language, count, narrow, seed));
    };
    // Sentence likelihoods on plain prompts for every model (what tuning did to
    // the language model), and the yes/no questions the variants were tuned
    // on, read three ways (the scoring-method comparison).
    corpus.suite_tasks =
        "  - {path: language/task.yaml, data_dir: language, form: plain}\n"
        "  - {path: language/judgement.yaml, data_dir: language, answer: [loglikelihood, first_token, generate]}\n";
    return corpus;
}

}  // namespace compeval
