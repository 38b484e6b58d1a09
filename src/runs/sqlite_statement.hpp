#pragma once
// The few SQLite calls the results store makes everywhere, each turning an
// SQLite failure into an Error naming the store's file.
#include <sqlite3.h>

#include <memory>
#include <string>

namespace compeval {

using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

Statement prepare(sqlite3 * db, const std::string & path, const char * sql);

void bind_text(sqlite3_stmt * s, int i, const std::string & v);

// Steps a statement that returns no rows.
void step_done(sqlite3 * db, const std::string & path, sqlite3_stmt * s);

// True for a row, false at the end; any error (a damaged page, a full disk)
// throws, so a failed read is never taken for "not stored".
bool step_row(sqlite3 * db, const std::string & path, sqlite3_stmt * s);

// The column's text, "" for NULL.
std::string column_text(sqlite3_stmt * s, int i);

}  // namespace compeval
