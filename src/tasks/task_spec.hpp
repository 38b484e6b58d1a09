#pragma once
// A task as data: where its items come from, how they are prompted, how they
// are scored and which metrics are reported. Loaded from YAML (see tasks/).
#include "data/table_reader.hpp"
#include "tasks/derived_columns.hpp"
#include "tasks/prompt_template.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval {

enum class ScoringMode {
    LabelWords,      // the answer is one of fixed label words (" yes"/" no"), gold from a label column
    MultipleChoice,  // the choices are columns of the row, gold from a column holding an index
    RankingPairs,    // rows grouped by a key; every positive row against every negative row
    MinimalPair,     // two sentences; the gold one should be the more likely
};

struct PromptVariant {
    std::string name;
    PromptTemplate plain;        // base models: the context
    PromptTemplate chat_system;  // instruct models: optional system message
    PromptTemplate chat_user;    // instruct models: the user message (answer follows in the assistant turn)
};

struct TaskSpec {
    std::string path;  // the YAML file
    std::string name;
    std::string category;
    std::string description;

    // Data
    TableOptions table;
    std::vector<std::pair<std::string, std::string>> splits;  // name -> path, in file order
    std::string id_column;                                    // empty: "<split>:<line>"
    std::vector<std::string> keep;                            // columns kept per item for analysis
    std::vector<DerivedColumn> derive;                        // columns computed from each row

    // Few-shot
    std::string fewshot_path;  // the split examples are drawn from
    int fewshot_k = 0;
    uint64_t fewshot_seed = 1234;
    std::string fewshot_separator = "\n\n";

    // Scoring
    ScoringMode mode = ScoringMode::LabelWords;
    std::string label_column;
    std::vector<std::pair<std::string, std::string>> label_words;  // label value -> answer text
    std::vector<std::string> choice_columns;                       // MultipleChoice
    std::string gold_column;                                       // MultipleChoice
    std::string pair_by;                                           // RankingPairs
    std::string positive_label;                                    // RankingPairs
    PromptTemplate choice_template;  // MultipleChoice/RankingPairs: how a choice reads ({{choice}})
    std::string good_column;         // MinimalPair
    std::string bad_column;          // MinimalPair
    std::string calibration_context = "Answer:";
    std::vector<std::string> metrics;
    std::vector<PromptVariant> prompts;

    bool derives(const std::string & column) const;
};

// Parses and validates a task file; throws compeval::Error "FILE:LINE: ..." on
// the first problem. `data_dir` replaces "{data_dir}" in data paths.
TaskSpec load_task_spec(const std::string & path, const std::string & data_dir);

const std::vector<std::string> & known_metrics();

}  // namespace compeval
