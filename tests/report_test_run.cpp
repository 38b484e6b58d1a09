#include "report_test_run.hpp"

#include "domains/domain_build.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace compeval::test {

std::string write_report_suite(const std::string & dir) {
    std::ofstream data(dir + "/toy.tsv");
    data << "text\tlabel\tkind\n";
    const char * adjectives[] = {"red", "fake", "small", "former", "wooden", "toy"};
    const char * nouns[] = {"apple", "gun", "car", "chair", "leaf", "coin"};
    for (size_t i = 0; i < 36; ++i) {
        const char * n = nouns[i / 6];
        data << "a " << adjectives[i % 6] << " " << n << " is a " << n << "\t" << (i % 3 == 0 ? 0 : 1) << "\tk" << i % 2
             << "\n";
    }
    std::ofstream(dir + "/toy.yaml") << R"(name: toy
data:
  format: tsv
  splits: {all: "{data_dir}/toy.tsv"}
  keep: [kind]
scoring:
  mode: label_words
  label: label
  label_words: {"1": " yes", "0": " no"}
prompts:
  - {name: question, plain: "Question: is it true that {{text}}? Answer:", chat: {user: "Is it true that {{text}}?"}}
  - {name: claim, plain: "Claim: {{text}}. True? Answer:", chat: {user: "Claim: {{text}}. True or false?"}}
)";
    std::ofstream phrases(dir + "/phrases.tsv");
    phrases << "adjective\tnoun\n";
    for (size_t i = 0; i < 16; ++i) {
        phrases << adjectives[i % 6] << "\t" << nouns[(i * 5 + 1) % 6] << "\n";
    }
    std::ofstream(dir + "/fit.yaml") << R"(name: composition-fit
kind: composition_fit
category: representational-composition
carrier: "This is a {{phrase}}."
pooling: last
layers: all
max_phrases: 40
ridge_lambda: 1.0
seed: 3
data:
  phrases: "{data_dir}/phrases.tsv"
)";
    build_domain(load_domain_spec(source_dir() + "/domains/factory.yaml"), dir + "/factory");
    std::ofstream(dir + "/suite.yaml") << "name: report\ndata_dir: .\nmodels:\n"
                                       << "  - {name: tiny, path: " << model_path("tiny-f32")
                                       << ", family: random, size: 4M}\n"
                                       << "  - {name: small, path: " << model_path("small-f32")
                                       << ", family: random, size: 20M}\n"
                                       << "  - {name: tiny-chat, path: "
                                       << model_path("chat-tiny-suite", test::kChatTemplate)
                                       << ", family: random, size: 4M, variant: instruct}\n"
                                       << "  - {name: small-q8, quantized_from: small, quant: Q8_0}\n"
                                       << "tasks:\n  - toy.yaml\n  - fit.yaml\n"
                                       << "  - {path: factory/task.yaml, data_dir: factory, limit: 30}\n";
    return dir + "/suite.yaml";
}

// The cells of the Markdown table that follows `heading`.
std::vector<std::vector<std::string>> markdown_table(const std::string & md, const std::string & heading) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(md.substr(md.find(heading)));
    std::string line;
    int seen = 0;
    while (std::getline(in, line)) {
        if (line.rfind('|', 0) != 0) {
            if (seen > 0) {
                break;
            }
            continue;
        }
        if (++seen <= 2) {
            continue;  // header and |---| rule
        }
        std::vector<std::string> cells;
        std::string cell;
        std::istringstream cs(line.substr(1));
        while (std::getline(cs, cell, '|')) {
            cells.push_back(cell.substr(1, cell.size() - 2));
        }
        rows.push_back(cells);
    }
    return rows;
}

std::string chromium_for_tests() {
    const char * chromium = std::getenv("CHROMIUM") != nullptr ? std::getenv("CHROMIUM") : "/usr/bin/chromium";
    if (!std::filesystem::exists(chromium) || run_command("node --version").exit_code != 0) {
        return "";
    }
    return chromium;
}

nlohmann::json check_report_in_chromium(const std::string & chromium, const std::string & html,
                                        const std::string & screenshot, const std::string & filters_json) {
    const auto check = run_command("NODE_PATH=" + node_modules() + " CHROMIUM=" + chromium + " node " + source_dir() +
                                   "/tests/browser/check_report.mjs " + html + " " + screenshot + " " + filters_json);
    EXPECT_EQ(check.exit_code, 0) << check.err;
    return check.exit_code == 0 ? nlohmann::json::parse(check.out) : nlohmann::json::object();
}

}  // namespace compeval::test
