#pragma once
// A domain made into files a task runs on: its items (every combination of
// the rules, or the combinations the records observed), the compositional
// split of those items, and seen.tsv / unseen.tsv / split.json / task.yaml.
#include "domains/domain_spec.hpp"
#include "domains/inspection_records.hpp"

#include <optional>
#include <string>
#include <vector>

namespace compeval {

// The most any model can agree with the rows: per combination the share of
// its majority outcome. `rows` weighs each combination by its rows;
// `combinations` is the mean over combinations.
struct NoiseCeiling {
    double rows = 0;
    double combinations = 0;
    size_t n_rows = 0;
    size_t n_combinations = 0;
};

NoiseCeiling noise_ceiling(const std::vector<DomainItem> & items, const std::vector<size_t> & indices);

struct DomainBuild {
    std::vector<DomainItem> items;
    SplitReport split;
    std::optional<RecordsSummary> records;  // a records domain's rows read, kept and dropped
    // split.by date: combinations first made on or after the date with an
    // atom never seen before it; in neither split.
    std::vector<size_t> left_out;
};

// Combinations first made on or after `unseen_from` are unseen where every
// atom of theirs occurs in a combination made before it; the others of them
// are left out (listed in `left_out`).
SplitReport date_split(const std::vector<DomainItem> & items, const std::string & unseen_from,
                       std::vector<size_t> & left_out);

// Generates (or reads) the items, splits them, and writes to `dir`: seen.tsv
// (train combinations: the few-shot pool and the seen evaluation split;
// records domains: one line per kept row, grouped by combination),
// unseen.tsv (test combinations), split.json (sizes, D_A, D_C, options; for
// records what was read, kept and dropped and the noise ceiling),
// combinations.tsv (records: each combination's outcome counts) and task.yaml
// (a task over both splits, so one run reports the seen/unseen gap).
DomainBuild build_domain(const DomainSpec & spec, const std::string & dir);

}  // namespace compeval
