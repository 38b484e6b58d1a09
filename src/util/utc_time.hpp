#pragma once
#include <string>

namespace compeval {

// The current time as ISO 8601 in UTC, e.g. "2026-12-05T13:04:05Z" (what
// stores and lock files record, comparable across machines).
std::string now_utc();

}  // namespace compeval
