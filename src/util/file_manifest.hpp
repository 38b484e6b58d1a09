#pragma once
// manifest.json of a run directory: each export's size, line count and
// SHA-256, written after the exports and checked before anything reads them,
// so an export cut short (a full disk, a copy that stopped, a file cut at a
// line boundary) or changed afterwards is never reported as if whole.
#include <string>
#include <vector>

namespace compeval {

inline constexpr const char * kExportManifest = "manifest.json";

// Records `files` (names in `dir`), atomically.
void write_export_manifest(const std::string & dir, const std::vector<std::string> & files);

// Removes the manifest (before exports are rewritten: while they are, the
// directory has none, and a reader sees no stale promise).
void remove_export_manifest(const std::string & dir);

// Throws compeval::Error naming the first listed file that is missing or
// differs from what was recorded, and what to do. Returns false when `dir`
// has no manifest (written by an older compeval, or an export never finished).
bool verify_export_manifest(const std::string & dir);

}  // namespace compeval
