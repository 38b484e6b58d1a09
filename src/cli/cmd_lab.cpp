#include "cli/commands.hpp"
#include "lab/toy_language.hpp"
#include "lab/trainer.hpp"
#include "lab/zoo.hpp"
#include "lab/word_vocab.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <filesystem>
#include <fstream>
#include <memory>

namespace compeval::cli {
namespace {

void write_lines(const std::string & path, const std::vector<std::string> & lines) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const auto & l : lines) {
        out << l << '\n';
    }
    if (!out.flush()) {
        throw Error(path + ": cannot write");
    }
}

std::vector<std::string> read_lines(const std::string & path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path + ": cannot open");
    }
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            out.push_back(line);
        }
    }
    return out;
}

}  // namespace

void add_lab_command(CLI::App & app) {
    auto * lab = app.add_subcommand("lab",
                                    "The lab: a toy language with known compositional structure, and a model "
                                    "zoo (sizes x instruction-tuning ratios) trained on it from scratch.");
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
    language->add_option("--hypernyms", config->hypernyms, "Hypernyms of the nouns")->capture_default_str();
    language
        ->add_option("--hypernym-depth", config->hypernym_depth,
                     "Levels of hypernyms above each noun (a chain, taught link by link)")
        ->check(CLI::Range(1, 4))
        ->capture_default_str();
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
        write_lines(*out + "/words.txt", lang.words());
        fmt::print(
            "toy language: {} words ({} vocab pieces), {} seen / {} held-out combinations, {} training "
            "sentences\nwrote {}/train.txt, validation.txt, heldout.tsv, seen.tsv, unseen.tsv, task.yaml, "
            "vocab.gguf, words.txt\n",
            lang.words().size(), vocab.size(), lang.seen.size(), lang.heldout.size(), lang.train.size(), *out);
    });

    struct TrainArgs {
        std::string language;
        std::string out;
        std::string size = "200k";
        TrainConfig config;
    };
    auto targs = std::make_shared<TrainArgs>();
    auto * train = lab->add_subcommand(
        "train",
        "Train a llama-style model from scratch on a toy language and export it as a GGUF,\n"
        "with OUT.train.csv (loss per epoch and the unigram baseline) and OUT.heldout.tsv beside it.");
    train->add_option("--language", targs->language, "Directory written by compeval lab language")->required();
    train->add_option("-o,--out", targs->out, "Output GGUF")->required();
    train->add_option("--size", targs->size, "50k, 200k, 1m or 5m")->capture_default_str();
    train->add_option("--epochs", targs->config.epochs, "Epochs")->capture_default_str();
    train->add_option("--batch", targs->config.batch, "Sentences per step")->capture_default_str();
    train->add_option("--lr", targs->config.learning_rate, "Peak learning rate")->capture_default_str();
    train->add_option("--seed", targs->config.seed, "Seed")->capture_default_str();
    train->add_option("-t,--threads", targs->config.threads, "Threads for the model's kernels (0 = all)")
        ->capture_default_str();
    train->callback([targs] {
        const std::string & dir = targs->language;
        const WordVocab vocab(read_lines(dir + "/words.txt"));
        auto encode = [&](const std::string & file) {
            std::vector<std::vector<int>> out;
            for (const auto & s : read_lines(dir + "/" + file)) {
                out.push_back(vocab.encode(s));
            }
            return out;
        };
        const auto shape = lab_size(targs->size);
        LabModel model(shape, static_cast<int>(vocab.size()), targs->config.seed);
        fmt::print(stderr, "lab: training {} ({} parameters) on {}\n", targs->size, model.n_params(), dir);
        const auto result = model.train(encode("train.txt"), encode("validation.txt"), targs->config);
        model.export_gguf(dir + "/vocab.gguf", targs->out, "compeval-lab-" + targs->size,
                          {{"compeval.lab.size", targs->size},
                           {"compeval.lab.language", std::filesystem::absolute(dir).string()},
                           {"compeval.lab.seed", std::to_string(targs->config.seed)}});
        std::ofstream csv(targs->out + ".train.csv", std::ios::binary | std::ios::trunc);
        csv << "epoch,train_loss,validation_loss,unigram_loss,seconds\n";
        for (const auto & e : result.epochs) {
            csv << e.epoch << ',' << e.train_loss << ',' << e.validation_loss << ',' << result.unigram_loss << ','
                << e.seconds << '\n';
            fmt::print("epoch {}: train {:.4f}  validation {:.4f}  (unigram {:.4f})  {:.1f} s\n", e.epoch, e.train_loss,
                       e.validation_loss, result.unigram_loss, e.seconds);
        }
        std::filesystem::copy_file(dir + "/heldout.tsv", targs->out + ".heldout.tsv",
                                   std::filesystem::copy_options::overwrite_existing);
        fmt::print("wrote {} ({} parameters, {:.0f} tokens/s), {}.train.csv, {}.heldout.tsv\n", targs->out,
                   result.n_params, result.tokens_per_second, targs->out, targs->out);
    });

    auto zoo_file = std::make_shared<std::string>();
    auto zoo_out = std::make_shared<std::string>();
    auto * zoo =
        lab->add_subcommand("zoo",
                            "Build (or resume) a model zoo from a config: the language and every size x seed, trained\n"
                            "from scratch; a model already built with the same config is kept. Writes zoo.json and\n"
                            "suite.yaml (run it with compeval run).");
    zoo->add_option("config", *zoo_file, "Zoo file (YAML), e.g. lab/zoo-default.yaml")->required();
    zoo->add_option("-o,--out", *zoo_out, "Zoo directory")->required();
    zoo->callback([zoo_file, zoo_out] {
        const auto config = load_zoo_config(*zoo_file);
        const auto built =
            build_zoo(config, *zoo_out, [](const std::string & line) { fmt::print(stderr, "lab: {}\n", line); });
        fmt::print(
            "zoo {}: {} models trained, {} kept, {} quantized variants made; wrote {}/zoo.json and {}/suite.yaml\n",
            config.name, built.trained, built.reused, built.quantized, *zoo_out, *zoo_out);
    });

    auto list_dir = std::make_shared<std::string>();
    auto * list =
        lab->add_subcommand("list", "List a built zoo: every model with its recipe, seed, size and training record.");
    list->add_option("zoo", *list_dir, "Zoo directory (written by compeval lab zoo)")->required();
    list->callback([list_dir] {
        const auto zoo = read_zoo(*list_dir);
        fmt::print("zoo {} ({} models)\nlanguage: {}\n\n", zoo.name, zoo.models.size(), zoo.language);
        fmt::print("{:<22} {:<18} {:<9} {:>4} {:>7} {:>7} {:>10} {:>9} {:>9} {:>9}  {}\n", "model", "recipe", "variant",
                   "seed", "IT", "weights", "params", "train s", "val loss", "unigram", "file");
        for (const auto & m : zoo.models) {
            // A quantized variant was not trained: its training record is its source's.
            const bool quantized = !m.quant.empty();
            fmt::print("{:<22} {:<18} {:<9} {:>4} {:>7} {:>7} {:>10} {:>9} {:>9} {:>9}  {}\n", m.name, m.recipe,
                       m.variant, m.seed, m.variant == "instruct" ? fmt::format("{:g}", m.it_ratio) : "-",
                       quantized ? m.quant : "F32", m.n_params,
                       quantized ? "-" : fmt::format("{:.1f}", m.train_seconds),
                       quantized ? "-" : fmt::format("{:.4f}", m.validation_loss),
                       quantized ? "-" : fmt::format("{:.4f}", m.unigram_loss),
                       m.present ? m.path : fmt::format("(missing) {}", m.path));
        }
    });
}

}  // namespace compeval::cli
