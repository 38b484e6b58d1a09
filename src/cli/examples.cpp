// What `compeval --help`, `compeval SUBCOMMAND --help` and `compeval` alone
// show beyond the options: the shortest way in, and three commands per
// subcommand to copy (Cli.EverySubcommandShowsThreeExamplesThatParse runs
// each one through the parser).
#include "cli/commands.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval::cli {
namespace {

const std::map<std::string, std::vector<std::string>> & examples() {
    static const std::map<std::string, std::vector<std::string>> table = {
        {"score",
         {"compeval make-items -n 300 -o items.jsonl", "compeval score -m MODEL.gguf -i items.jsonl -o scores.jsonl",
          "compeval score -m MODEL.gguf -i items.jsonl -o scores.jsonl -t 2 -b 512"}},
        {"eval",
         {"compeval eval tasks/plane-ood.yaml -m MODEL.gguf",
          "compeval eval tasks/plane-ood.yaml -m MODEL.gguf --limit 100",
          "compeval eval tasks/plane-ood.yaml -m MODEL.gguf --answer generate -o items.jsonl"}},
        {"run",
         {"compeval run suites/demo.yaml -o runs/demo", "compeval run suites/full-study.yaml -o runs/study -t 2",
          "compeval run suites/full-study.yaml -o runs/study --shard 1/4"}},
        {"merge",
         {"compeval run suites/full-study.yaml -o runs/shard1 --shard 1/2",
          "compeval run suites/full-study.yaml -o runs/shard2 --shard 2/2",
          "compeval merge runs/study runs/shard1 runs/shard2"}},
        {"domain",
         {"compeval domain domains/factory.yaml -o runs/factory",
          "compeval domain domains/factory.yaml -o runs/factory --target-dc 0.3",
          "compeval domain examples/inspection-log/line.yaml -o runs/line"}},
        {"pilot",
         {"compeval pilot domains/factory.yaml", "compeval pilot examples/inspection-log/line.yaml --models MODEL.gguf",
          "compeval pilot domains/factory-ja.yaml --lang ja --cost \"いいえ->はい=5\""}},
        {"compare",
         {"compeval compare runs/a runs/b", "compeval compare runs/a runs/b --metric acc_norm_tok",
          "compeval compare runs/a runs/b --iterations 5000 --seed 2"}},
        {"report",
         {"compeval report runs/demo", "compeval report runs/demo --lang ja",
          "compeval report runs/demo --cost \"no->yes=5\" --max-error 0.01 --review-cost 2"}},
        {"make-model",
         {"compeval make-model -p tiny -o tiny.gguf",
          "compeval make-model -p small --arch qwen3 --weights bf16 -o small.gguf",
          "compeval make-model -p tiny --chat-template suites/demo-chat-template.jinja -o chat.gguf"}},
        {"make-items",
         {"compeval make-items -o items.jsonl", "compeval make-items -n 300 --choices 2 -o items.jsonl",
          "compeval make-items -n 300 --preamble-words 150 -o items.jsonl"}},
        {"info",
         {"compeval info -m MODEL.gguf", "compeval info -m tiny.gguf",
          "compeval info -m ~/.cache/compeval/lab/zoo-default/1m-s1.gguf"}},
        {"quantize",
         {"compeval quantize MODEL.gguf --type Q8_0", "compeval quantize MODEL.gguf --type Q4_K_M -o model-q4.gguf",
          "compeval quantize MODEL-q8_0.gguf --type Q4_K_M --allow-requantize"}},
        {"to-perplexity",
         {"compeval make-items -n 100 -o items.jsonl", "compeval to-perplexity -i items.jsonl -o items.bin",
          "compeval to-perplexity -i scores-items.jsonl -o scores-items.bin"}},
        {"lab",
         {"compeval lab zoo lab/zoo-default.yaml --out ~/.cache/compeval/lab/zoo-default",
          "compeval lab language --out build/toy-language", "compeval lab list ~/.cache/compeval/lab/zoo-default"}},
        {"chat-templates",
         {"compeval chat-templates", "compeval chat-templates -o chat-templates.md",
          "compeval chat-templates ~/.cache/compeval/llama.cpp-3.22.1/src/models/templates"}},
    };
    return table;
}

}  // namespace

std::string shortest_way_in() {
    return "compeval: does a language model generalize to combinations it has never seen?\n"
           "The shortest ways in:\n"
           "  bash scripts/demo.sh                                   # models trained here, the study's answer and a "
           "pilot\n"
           "  compeval pilot domains/factory.yaml [--models M.gguf]  # your domain or inspection log -> a decision\n"
           "  compeval eval tasks/plane-ood.yaml -m MODEL.gguf       # the study's tasks on your model\n"
           "Every subcommand: compeval --help; its options and examples: compeval SUBCOMMAND --help\n";
}

void add_examples(CLI::App & app) {
    app.footer("\n" + shortest_way_in());
    for (auto * sub : app.get_subcommands({})) {
        const auto found = examples().find(sub->get_name());
        if (found == examples().end()) {
            continue;
        }
        std::string text = "\nExamples:\n";
        for (const auto & line : found->second) {
            text += "  " + line + "\n";
        }
        sub->footer(text);
    }
}

void parse_only(CLI::App & app) {
    for (auto * sub : app.get_subcommands({})) {
        // The command's own callback holds the storage its options write
        // into: it is dropped only once they are parsed, never run.
        sub->parse_complete_callback([sub] { sub->callback([] {}); });
        parse_only(*sub);
    }
}

}  // namespace compeval::cli
