#pragma once
// Multiple-choice items from JSONL: one object per line,
//   {"id": ..., "context": "...", "choices": ["...", ...], "gold": 0}
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace compeval {

// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json members may throw on copy; callers expect that.
struct McItem {
    nlohmann::json id;  // string or number, echoed back unchanged
    std::string context;
    std::vector<std::string> choices;
    int gold = 0;
    size_t line = 0;  // 1-based line in the source file
};

// Reads and validates every line; throws compeval::Error "FILE:LINE: cause" on
// the first malformed one (invalid JSON or UTF-8, a missing or mistyped field,
// an empty choice, gold out of range). Blank lines are skipped.
std::vector<McItem> read_mc_items(const std::string & path);

// Parses one line (exposed for tests and other readers).
McItem parse_mc_item(const std::string & line_text, const std::string & path, size_t line);

}  // namespace compeval
