#pragma once
// The process's resident memory high-water mark, resettable so each model of a
// suite gets its own peak (Linux /proc; elsewhere getrusage's lifetime peak).
#include <cstdint>

namespace compeval {

// Resets the high-water mark to the current resident size (Linux >= 4.0,
// /proc/self/clear_refs); returns false where that is not possible.
bool reset_peak_rss();

// Peak resident set size in bytes since start or the last reset.
uint64_t peak_rss_bytes();

}  // namespace compeval
