#pragma once
// Columns a task computes from its data rather than reads: the PLANE inference
// type read off a row's text, or a label binned from a numeric score (AddOne-RTE
// labels items by thresholds on the mean human rating, differently per split).
#include "data/table_reader.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval {

// One labelled interval of a score: the row gets `label` when `score op bound`.
struct ScoreBin {
    std::string label;
    std::string op;  // "<", "<=", ">", ">="
    double bound = 0;
    bool contains(double score) const;
};

struct DerivedColumn {
    enum class Kind { PlaneInferenceType, ScoreBins };
    std::string name;
    Kind kind = Kind::PlaneInferenceType;
    std::string from;                                         // ScoreBins: the numeric column
    std::vector<ScoreBin> bins;                               // ScoreBins: first match wins
    std::map<std::string, std::vector<ScoreBin>> split_bins;  // per-split replacements of `bins`

    const std::vector<ScoreBin> & bins_for(const std::string & split) const;
};

// The whole of `text` as a number (no spaces, no trailing text).
bool parse_number(const std::string & text, double & value);

// "< 3.5" -> {op "<", bound 3.5}; throws compeval::Error on anything else.
ScoreBin parse_score_bin(const std::string & label, const std::string & condition);

// Appends each derived column to `table`. A row whose score falls in no bin is
// dropped (AddOne-RTE's test split leaves out ratings between 3 and 4); a score
// that is not a number throws "FILE:LINE: field 'COLUMN': ...". Returns the
// number of rows dropped.
size_t add_derived_columns(const std::vector<DerivedColumn> & derived, const std::string & split, Table & table);

// "AN=>N", "AN=>H" or "AN=>A-H" from a PLANE row's text, noun, adjective and
// hypernym; empty when the text ends in none of them.
std::string plane_inference_type(const std::map<std::string, std::string> & fields);

}  // namespace compeval
