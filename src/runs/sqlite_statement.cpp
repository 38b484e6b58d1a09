#include "runs/sqlite_statement.hpp"

#include "util/error.hpp"

namespace compeval {

Statement prepare(sqlite3 * db, const std::string & path, const char * sql) {
    sqlite3_stmt * stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
        throw Error(path + ": results store: " + sqlite3_errmsg(db));
    }
    return {stmt, &sqlite3_finalize};
}

void bind_text(sqlite3_stmt * s, int i, const std::string & v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

void step_done(sqlite3 * db, const std::string & path, sqlite3_stmt * s) {
    if (sqlite3_step(s) != SQLITE_DONE) {
        throw Error(path + ": results store: " + sqlite3_errmsg(db));
    }
}

bool step_row(sqlite3 * db, const std::string & path, sqlite3_stmt * s) {
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    throw Error(path + ": results store: " + sqlite3_errmsg(db));
}

std::string column_text(sqlite3_stmt * s, int i) {
    const auto * text = sqlite3_column_text(s, i);
    return text != nullptr ? reinterpret_cast<const char *>(text) : "";
}

}  // namespace compeval
