#pragma once
// A domain's items from the line's own records (an inspection log): one item
// per combination observed, with every row's outcome counted, the majority as
// its label, and every row that could not be used either refused with its
// file and line or, where the domain file says `on_bad_row: drop`, left out
// and counted by reason.
#include "domains/domain_spec.hpp"

#include <map>
#include <string>
#include <vector>

namespace compeval {

struct RecordsSummary {
    size_t rows_read = 0;
    size_t rows_kept = 0;
    // reason -> rows: where (records.where leaves it out), empty_outcome,
    // empty_value, unknown_value (not among a slot's listed values),
    // not_in_master (not in the slot's master table), bad_date, bad_value (a
    // tab or line break inside a value).
    std::map<std::string, size_t> rows_dropped;
    std::vector<std::string> dropped_examples;  // "FILE:LINE: cause", the first few dropped as bad
    size_t combinations = 0;
    size_t ties = 0;
    size_t disagreeing = 0;  // combinations whose rows have more than one outcome
};

struct DomainRecords {
    std::vector<DomainItem> items;  // in order of first appearance in the file
    RecordsSummary summary;
};

// Throws compeval::Error "FILE:LINE: cause" for the first bad row (unless the
// spec drops them), and for an outcome with no label word (always: an
// outcome the task cannot name would change every share).
DomainRecords read_domain_records(const DomainSpec & spec);

}  // namespace compeval
