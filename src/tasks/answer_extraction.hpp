#pragma once
// From what a model wrote (or the first answer token's top candidates) to one
// of a task's labels. Nothing is guessed: an answer that names no label is
// "no answer", and a label the API did not list among its top candidates is
// only bounded.
#include "backends/language_model.hpp"
#include "scoring/answer_generator.hpp"
#include "tasks/answer_route.hpp"

#include <set>
#include <string>
#include <vector>

namespace compeval {

// The label (index into `labels`) the text names, or -1 (no answer). Labels
// match as whole words, case-insensitively, ignoring their leading spaces;
// with options.regex its group must equal a label. Where two labels start at
// one place the longer wins ("not entailed" over "not").
int extract_label(const std::string & text, const std::vector<std::string> & labels, const AnswerOptions & options);

// How a label's first token may read: the first token's text of the label
// written as is, lower-case, capitalised and upper-case, each with and
// without a leading space, normalised (leading spaces dropped, lower-cased).
// Without a tokenizer (a chat-only API) only the whole word, normalised.
std::set<std::string> first_token_forms(const LanguageModel & model, const std::string & label);

struct FirstTokenScores {
    // Per label: the log-sum-exp of its listed first-token forms; for a label
    // none of whose forms was listed, the least listed log-probability (an
    // upper bound).
    std::vector<double> logprob;
    std::vector<bool> listed;
    int pred = -1;  // the most likely listed label; -1 when none was listed
};

// A candidate counts for the one label whose forms include its normalised
// text; a candidate that is a form of two labels tells them apart for neither
// and counts for none.
FirstTokenScores rank_first_tokens(const std::vector<TokenLogprob> & top,
                                   const std::vector<std::set<std::string>> & forms);

}  // namespace compeval
