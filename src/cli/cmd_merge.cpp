#include "cli/commands.hpp"
#include "runs/sharding.hpp"

#include <fmt/core.h>

#include <memory>

namespace compeval::cli {
namespace {

struct MergeArgs {
    std::string out;
    std::vector<std::string> shards;
    MergeOptions options;
};

void merge_command(const MergeArgs & args) {
    const MergeResult merged = merge_shards(args.out, args.shards, args.options);
    fmt::print("merged {} shards of {}: {} requests ({} held by more than one shard, kept once)\n", merged.shards,
               merged.suite, merged.requests, merged.duplicates);
    fmt::print(
        "wrote {0}/results.sqlite, {0}/samples.jsonl, {0}/summary.json, {0}/summary.csv, {0}/layers.csv, "
        "{0}/cost.json\n",
        args.out);
}

}  // namespace

void add_merge_command(CLI::App & app) {
    auto args = std::make_shared<MergeArgs>();
    auto * cmd = app.add_subcommand(
        "merge",
        "Merge the directories of `run --shard I/N` (all N shards of one suite) into one run directory "
        "and export it as an unsharded run would.");
    cmd->add_option("out", args->out, "New run directory (results.sqlite and exports)")->required();
    cmd->add_option("shards", args->shards, "The shard directories")->required();
    cmd->add_option("--suite", args->options.suite, "Suite file (default: the path the shards recorded)");
    cmd->add_option("--data-dir", args->options.data_dir, "As the shards' --data-dir");
    cmd->add_option("-t,--threads", args->options.threads, "CPU threads for representational tasks (0 = all)")
        ->capture_default_str();
    cmd->add_option("-b,--batch", args->options.batch, "Tokens per llama_decode call")->capture_default_str();
    cmd->callback([args] { merge_command(*args); });
}

}  // namespace compeval::cli
