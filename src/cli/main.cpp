#include "backends/llama_runtime.hpp"
#include "cli/commands.hpp"
#include "lab/trainer.hpp"
#include "util/error.hpp"
#include "version.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int run(int argc, char ** argv) {
    if (argc == 1) {
        std::fputs(compeval::cli::shortest_way_in().c_str(), stdout);
        return 0;
    }
    if (argc > 2 && std::string(argv[1]) == "lab" &&
        (std::string(argv[2]) == "train" || std::string(argv[2]) == "zoo")) {
        const std::string warning = compeval::lab_blas_warning();
        if (!warning.empty()) {
            std::fprintf(stderr, "compeval: warning: %s\n", warning.c_str());
        }
    }
    CLI::App app{
        "compeval: does a language model generalize to combinations it has never seen?\n"
        "Scores GGUF models in-process through llama.cpp."};
    app.set_version_flag("--version", std::string(compeval::kVersion) + " (llama.cpp " + compeval::kLlamaVersion + ")");
    app.require_subcommand(1);
    app.add_flag_callback(
        "-v,--verbose", [] { compeval::set_llama_verbose(true); }, "Show llama.cpp's own log on stderr");
    compeval::cli::add_score_command(app);
    compeval::cli::add_eval_command(app);
    compeval::cli::add_run_command(app);
    compeval::cli::add_merge_command(app);
    compeval::cli::add_domain_command(app);
    compeval::cli::add_pilot_command(app);
    compeval::cli::add_compare_command(app);
    compeval::cli::add_report_command(app);
    compeval::cli::add_make_model_command(app);
    compeval::cli::add_make_items_command(app);
    compeval::cli::add_info_command(app);
    compeval::cli::add_quantize_command(app);
    compeval::cli::add_to_perplexity_command(app);
    compeval::cli::add_lab_command(app);
    compeval::cli::add_chat_templates_command(app);
    compeval::cli::add_examples(app);
    if (const char * only = std::getenv("COMPEVAL_PARSE_ONLY"); only != nullptr && std::string(only) == "1") {
        compeval::cli::parse_only(app);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError & e) {
        return app.exit(e);
    }
    return 0;
}

}  // namespace

int main(int argc, char ** argv) {
    try {
        return run(argc, argv);
    } catch (const compeval::Error & e) {
        std::fprintf(stderr, "compeval: error: %s\n", e.what());
        return 1;
    } catch (const std::exception & e) {
        std::fprintf(stderr, "compeval: internal error: %s\n", e.what());
        return 2;
    } catch (...) {
        std::fprintf(stderr, "compeval: internal error\n");
        return 2;
    }
}
