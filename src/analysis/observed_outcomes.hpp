#pragma once
// Items that carry observed outcome counts (a records domain's combinations,
// a rater task's groups): no model can agree with more rows than each item's
// majority outcome holds. Per split: that ceiling, and how many of the rows
// the model's answers agree with, beside its accuracy against the majority.
#include "analysis/run_samples.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace compeval {

// Per split of one model x task: {split, combinations, rows, ceiling: {rows,
// combinations}, agreement: {rows, combinations}}. `rows` weighs each item by
// its rows, `combinations` is the mean over items; agreement is averaged over
// prompts. Empty when no sample carries counts.
nlohmann::json noise_ceiling_rows(const std::vector<const RunSample *> & samples);

// RUN/domain/split.json (a pilot's run) when it holds records: what was read,
// kept and dropped, and the ceiling per split; null otherwise.
nlohmann::json read_run_records(const std::string & run_dir);

// One sentence on the records and the ceiling, in English or Japanese.
std::string records_sentence(const nlohmann::json & split, bool ja);

}  // namespace compeval
