// compeval chat-templates: where every chat template puts the answer, as the
// Markdown table in docs/chat-templates.md.
#include "backends/chat_template_table.hpp"
#include "cli/commands.hpp"
#include "model/random_model.hpp"
#include "util/error.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

namespace compeval::cli {
namespace {

namespace fs = std::filesystem;

struct ChatTemplatesArgs {
    std::vector<std::string> inputs;  // template files or directories of *.jinja
    std::string vocab;
    std::string out;
};

std::string default_templates_dir() {
    return (fs::path(default_vocab_path()).parent_path() / "templates").string();
}

std::string default_table_vocab() {
    return (fs::path(default_vocab_path()).parent_path() / "ggml-vocab-llama-bpe.gguf").string();
}

std::vector<std::string> template_files(const std::vector<std::string> & inputs) {
    std::vector<std::string> files;
    for (const auto & input : inputs) {
        if (!fs::is_directory(input)) {
            files.push_back(input);
            continue;
        }
        for (const auto & entry : fs::directory_iterator(input)) {
            if (entry.path().extension() == ".jinja") {
                files.push_back(entry.path().string());
            }
        }
    }
    // By file name: the table must not depend on directory order.
    std::sort(files.begin(), files.end(), [](const std::string & a, const std::string & b) {
        return fs::path(a).filename() < fs::path(b).filename();
    });
    if (files.empty()) {
        throw Error("no chat templates (*.jinja) found");
    }
    return files;
}

void run_chat_templates(const ChatTemplatesArgs & a) {
    const auto inputs = a.inputs.empty() ? std::vector<std::string>{default_templates_dir()} : a.inputs;
    const std::string vocab_path = a.vocab.empty() ? default_table_vocab() : a.vocab;
    ModelOptions options;
    options.vocab_only = true;
    const Model vocab(vocab_path, options);
    const auto rows = survey_chat_templates(template_files(inputs), vocab);
    // The command as a reader would type it: options only where not the defaults.
    std::string command = "compeval chat-templates";
    for (const auto & i : a.inputs) {
        command += " " + i;
    }
    if (!a.vocab.empty()) {
        command += " --vocab " + a.vocab;
    }
    const std::string table = chat_template_table_markdown(rows, fs::path(vocab_path).filename().string(), command);
    if (a.out.empty()) {
        fmt::print("{}", table);
        return;
    }
    std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
    if (!(out << table)) {
        throw Error(a.out + ": cannot write");
    }
    const auto rendered = std::count_if(rows.begin(), rows.end(), [](const auto & r) { return r.renders; });
    fmt::print("wrote {} ({} of {} templates render)\n", a.out, rendered, rows.size());
}

}  // namespace

void add_chat_templates_command(CLI::App & app) {
    auto args = std::make_shared<ChatTemplatesArgs>();
    auto * cmd = app.add_subcommand(
        "chat-templates",
        "Render chat templates and tabulate where each puts the answer (docs/chat-templates.md is this\n"
        "command's output over the pinned llama.cpp's models/templates).");
    cmd->add_option("templates", args->inputs, "Template files or directories of *.jinja")
        ->default_str(default_templates_dir());
    cmd->add_option("--vocab", args->vocab, "Vocab GGUF for BOS/EOS text and tokenization")
        ->default_str(default_table_vocab());
    cmd->add_option("-o,--out", args->out, "Markdown file to write (default: standard output)");
    cmd->callback([args] { run_chat_templates(*args); });
}

}  // namespace compeval::cli
