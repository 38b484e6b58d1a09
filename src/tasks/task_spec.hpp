#pragma once
// A task as data: where its items come from, how they are prompted, how they
// are scored and which metrics are reported. Loaded from YAML (see tasks/).
#include "data/table_reader.hpp"
#include "tasks/answer_route.hpp"
#include "tasks/derived_columns.hpp"
#include "tasks/prompt_template.hpp"
#include "tasks/row_filter.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval {

enum class ScoringMode {
    LabelWords,      // the answer is one of fixed label words (" yes"/" no"), gold from a label column
    MultipleChoice,  // the choices are columns of the row, gold from a column holding an index
    RankingPairs,    // rows grouped by a key; every positive row against every negative row
    MinimalPair,     // two sentences; the gold one should be the more likely
    PairComparison,  // two sentences and a label saying which is more likely, or that neither is (a margin)
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
    std::vector<RowCondition> where;                          // rows kept: every condition holds
    // One item per group of rows sharing these columns' values (one row per
    // rater); the item's gold is the rows' majority answer and their answer
    // counts are the human distribution.
    std::vector<std::string> group_by;

    // Few-shot
    std::string fewshot_path;  // the split examples are drawn from
    int fewshot_k = 0;
    uint64_t fewshot_seed = 1234;
    std::string fewshot_separator = "\n\n";
    // A pool in a layout of its own (training files often differ from test files).
    bool fewshot_own_table = false;
    TableOptions fewshot_table;
    std::vector<std::pair<std::string, std::string>> fewshot_columns;  // task column <- pool column
    std::vector<std::pair<std::string, std::string>> fewshot_labels;   // pool label value -> task label value
    bool fewshot_own_where = false;
    std::vector<RowCondition> fewshot_where;

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
    std::string first_column;        // PairComparison (label_column says which wins)
    std::string second_column;       // PairComparison
    std::string first_label;         // PairComparison: label value when the first is more likely
    std::string second_label;        // PairComparison
    std::string equal_label;         // PairComparison: "" = every pair has a winner
    double margin = 0;               // PairComparison: scores this close predict "equal"
    std::string calibration_context = "Answer:";
    std::vector<std::string> metrics;  // choice metrics (known_metrics())
    // `metrics: [..., distribution]`: the model's distribution over the label
    // words against the humans' (needs group_by).
    bool distribution = false;
    // `scoring.answer`, `scoring.generate`, `scoring.top_logprobs`: how the
    // answer is read (answer_route.hpp); a suite or `eval --answer` may
    // choose another route.
    AnswerOptions answer;
    std::vector<PromptVariant> prompts;

    // The line of the task file that set each field ("scoring.label",
    // "prompts[question].plain", ...), for messages that name both places.
    std::map<std::string, int> lines;

    bool derives(const std::string & column) const;
};

// Parses and validates a task file; throws compeval::Error "FILE:LINE: ..." on
// the first problem. `data_dir` replaces "{data_dir}" in data paths.
TaskSpec load_task_spec(const std::string & path, const std::string & data_dir);

const std::vector<std::string> & known_metrics();

// Throws compeval::Error (without the file name) when `route` cannot read
// this task's answers: the
// first-token and generative routes need label words or multiple choice
// (an answer the model can say), not sentences to compare.
void check_answer_route(const TaskSpec & spec, AnswerRoute route);

}  // namespace compeval
