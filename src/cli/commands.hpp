#pragma once
// Each CLI subcommand registers itself on the app; the commands only parse
// options, call the library, and print.
#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

namespace compeval::cli {

void add_score_command(CLI::App & app);
void add_eval_command(CLI::App & app);
void add_run_command(CLI::App & app);
void add_merge_command(CLI::App & app);
void add_domain_command(CLI::App & app);
void add_pilot_command(CLI::App & app);
void add_compare_command(CLI::App & app);
void add_report_command(CLI::App & app);
void add_make_model_command(CLI::App & app);
void add_make_items_command(CLI::App & app);
void add_info_command(CLI::App & app);
void add_quantize_command(CLI::App & app);
void add_to_perplexity_command(CLI::App & app);
void add_lab_command(CLI::App & app);
void add_chat_templates_command(CLI::App & app);

// The shortest ways in (what `compeval` alone prints), the top-level help's
// footer, and three examples in each subcommand's help (examples.cpp).
std::string shortest_way_in();
void add_examples(CLI::App & app);
// COMPEVAL_PARSE_ONLY=1: every subcommand parses and validates its arguments
// and does nothing (how the examples and documented commands are checked).
void parse_only(CLI::App & app);

// --cost GOLD->PRED=COST options as a map; throws compeval::Error naming a malformed one.
std::map<std::string, double> parse_error_costs(const std::vector<std::string> & costs);

// --max-error and --review-cost (selective prediction), into the report's options.
void add_selective_options(CLI::App & cmd, std::vector<double> & max_errors, double & review_cost);

}  // namespace compeval::cli
