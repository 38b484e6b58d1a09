#include "cli/commands.hpp"
#include "analysis/observed_outcomes.hpp"
#include "domains/domain_build.hpp"

#include <nlohmann/json.hpp>

#include <fmt/core.h>

#include <fstream>
#include <memory>

namespace compeval::cli {

void add_domain_command(CLI::App & app) {
    struct Args {
        std::string domain;
        std::string out;
        double target = -2.0;
    };
    auto args = std::make_shared<Args>();
    auto * cmd = app.add_subcommand(
        "domain",
        "Generate a domain's items and a compositional split (test combinations unseen, every test atom\n"
        "seen), report its atom and compound divergence, and write a task over the seen and unseen splits.");
    cmd->add_option("domain", args->domain, "Domain file (YAML), e.g. domains/factory.yaml")->required();
    cmd->add_option("-o,--out", args->out, "Output directory")->required();
    cmd->add_option("--target-dc", args->target, "Target compound divergence (overrides the file)");
    cmd->callback([args] {
        DomainSpec spec = load_domain_spec(args->domain);
        if (args->target > -2.0) {
            spec.split.target_compound_divergence = args->target;
        }
        const auto build = build_domain(spec, args->out);
        fmt::print("domain {}: {} combinations, {} seen / {} unseen\n", spec.name, build.items.size(),
                   build.split.train.size(), build.split.test.size());
        fmt::print("atom divergence D_A {:.4f}, compound divergence D_C {:.4f}{}\n", build.split.atom_divergence,
                   build.split.compound_divergence,
                   spec.split.target_compound_divergence >= 0
                       ? fmt::format(" (target {:.2f})", spec.split.target_compound_divergence)
                       : "");
        if (build.records) {
            std::ifstream in(args->out + "/split.json");
            fmt::print("{}\n", records_sentence(nlohmann::json::parse(in), false));
        }
        fmt::print("wrote {0}/seen.tsv, {0}/unseen.tsv, {0}/split.json, {0}/task.yaml{1}\n", args->out,
                   build.records ? fmt::format(", {}/combinations.tsv", args->out) : "");
        fmt::print("next: compeval eval {0}/task.yaml --data-dir {0} -m MODEL.gguf\n", args->out);
    });
}

}  // namespace compeval::cli
