#include "cli/commands.hpp"
#include "lab/toy_language.hpp"
#include "lab/word_vocab.hpp"

#include <fmt/core.h>

#include <memory>

namespace compeval::cli {

void add_lab_command(CLI::App & app) {
    auto * lab = app.add_subcommand("lab",
                                    "The lab: a toy language with known compositional structure (training "
                                    "the model zoo on it comes in a later version).");
    lab->require_subcommand(1);
    auto config = std::make_shared<ToyLanguageConfig>();
    auto out = std::make_shared<std::string>();
    auto * language = lab->add_subcommand(
        "language",
        "Generate the toy language: train/validation text with a share of adjective-noun combinations\n"
        "held out, seen/unseen minimal-pair items with a task file, and a word-level vocab GGUF.");
    language->add_option("-o,--out", *out, "Output directory")->required();
    language->add_option("--seed", config->seed, "Seed")->capture_default_str();
    language->add_option("--nouns", config->nouns, "Nouns")->capture_default_str();
    language->add_option("--adjectives", config->adjectives, "Adjectives")->capture_default_str();
    language->add_option("--heldout", config->heldout_share, "Share of adjective-noun combinations held out")
        ->check(CLI::Range(0.0, 0.99))
        ->capture_default_str();
    language->add_option("--rare", config->rare_share, "Share of adjectives revealed by few combinations")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    language->add_option("--rare-evidence", config->rare_evidence, "Training combinations per rare adjective")
        ->capture_default_str();
    language->add_option("--stacked", config->stacked_share, "Share of two-modifier sentences")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    language->add_option("--noise", config->noise, "Share of training sentences with flipped truth")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    language->add_option("--train", config->train_sentences, "Training sentences")->capture_default_str();
    language->callback([config, out] {
        const auto lang = generate_toy_language(*config);
        write_toy_language(lang, *out);
        const WordVocab vocab(lang.words());
        vocab.write_gguf(*out + "/vocab.gguf");
        fmt::print(
            "toy language: {} words ({} vocab pieces), {} seen / {} held-out combinations, {} training "
            "sentences\nwrote {}/train.txt, validation.txt, heldout.tsv, seen.tsv, unseen.tsv, task.yaml, "
            "vocab.gguf\n",
            lang.words().size(), vocab.size(), lang.seen.size(), lang.heldout.size(), lang.train.size(), *out);
    });
}

}  // namespace compeval::cli
