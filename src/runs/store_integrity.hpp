#pragma once
// How the results store tells a damaged, foreign or newer file from its own:
// the file's header, the store's identity and schema version, SQLite's
// integrity_check, and a check value over each result row.
#include "scoring/requests.hpp"
#include "util/error.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace compeval {

// Written into every store's header (PRAGMA application_id / user_version):
// what tells a compeval store from another SQLite file, and which schema
// wrote it.
constexpr int32_t kStoreApplicationId = 0x63657631;  // "cev1"
constexpr int kStoreSchemaVersion = 1;

// Refuses what is not an SQLite file at all, before SQLite sees it (a new,
// empty or missing file passes).
void check_file_header(const std::string & path);

// Before anything is read or written: the header must say compeval (or be an
// older compeval store, with its tables), the schema must be one this
// compeval knows, and SQLite's integrity_check must pass.
void check_store_identity_and_integrity(sqlite3 * db, const std::string & path);

// The check value stored beside a scored request, and beside a generated answer.
int64_t request_check(const std::string & model, const std::string & hash, const LoglikelihoodResult & r);
int64_t answer_check(const std::string & model, const std::string & hash, std::string_view answer);

// What to do with a store compeval will not read (appended to its error).
std::string damaged_advice(const std::string & path);

// A row whose check value does not match its contents.
Error damaged_row_error(const std::string & path, const char * what, const std::string & model,
                        const std::string & hash);

}  // namespace compeval
