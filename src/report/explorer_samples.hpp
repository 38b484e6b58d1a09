#pragma once
// The HTML report's sample explorer data: every sample of the run, column by
// column, each text stored once. As one JSON object per sample (its keys, model,
// task, split and field names repeated on every line) the 3-model full-size
// study's page was 34.5 MB; as columns of indices into one string table it is
// 6.1 MB (docs/performance.md, "Scale"), and the page filters typed arrays, not objects.
#include "analysis/run_samples.hpp"

#include <nlohmann/json.hpp>

#include <vector>

namespace compeval {

// {"strings": [...], "model": [i...], "task", "split", "id", "prompt", "gold",
//  "pred": [i...] (indices into strings), "correct": [0|1...],
//  "fields": [f...] (indices into field_sets),
//  "field_sets": [[i...]...] (each a sorted list of "key=value" string indices)}
nlohmann::json explorer_samples(const std::vector<RunSample> & samples);

}  // namespace compeval
