#include "runs/store_integrity.hpp"

#include "runs/sqlite_statement.hpp"

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

namespace compeval {
namespace {

// A 64-bit FNV-1a over a row's key and result: a flipped bit in a stored
// number (which SQLite's integrity_check cannot see) is caught on reading.
class RowCheck {
  public:
    RowCheck & add(std::string_view bytes) {
        for (const char c : bytes) {
            h_ = (h_ ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
        }
        h_ = (h_ ^ 0x1fU) * 0x100000001b3ULL;
        return *this;
    }
    RowCheck & add(double v) {
        uint64_t bits = 0;
        std::memcpy(&bits, &v, sizeof bits);
        return add(std::string_view(reinterpret_cast<const char *>(&bits), sizeof bits));
    }
    RowCheck & add(int64_t v) { return add(std::string_view(reinterpret_cast<const char *>(&v), sizeof v)); }
    int64_t value() const { return static_cast<int64_t>(h_); }

  private:
    uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

int64_t request_check(const std::string & model, const std::string & hash, const LoglikelihoodResult & r) {
    return RowCheck()
        .add(model)
        .add(hash)
        .add(r.logprob)
        .add(int64_t{r.n_tokens})
        .add(int64_t{r.greedy ? 1 : 0})
        .value();
}

int64_t answer_check(const std::string & model, const std::string & hash, std::string_view answer) {
    return RowCheck().add(model).add(hash).add(answer).value();
}

std::string damaged_advice(const std::string & path) {
    return "; nothing was read from it or written to it. Keep it for a look, then move it away and run again "
           "(stored work is scored again), or restore it from a copy (`sqlite3 " +
           path + " .recover` may save what is intact)";
}

Error damaged_row_error(const std::string & path, const char * what, const std::string & model,
                        const std::string & hash) {
    return Error(path + ": the stored " + what + " " + hash.substr(0, 12) + " of model " + model.substr(0, 12) +
                 " fails its check: the store is damaged" + damaged_advice(path));
}

void check_file_header(const std::string & path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec) || std::filesystem::file_size(path, ec) == 0) {
        return;  // a new store
    }
    std::array<char, 16> head{};
    std::ifstream in(path, std::ios::binary);
    in.read(head.data(), head.size());
    const auto got = static_cast<size_t>(in.gcount());
    if (got < head.size() || std::memcmp(head.data(), "SQLite format 3", 16) != 0) {
        throw Error(path + ": not a compeval results store: " +
                    (got < head.size() ? std::string("only ") + std::to_string(got) + " bytes (truncated?)"
                                       : std::string("not an SQLite database")) +
                    damaged_advice(path));
    }
}

// Any SQLite error on the way (a damaged header, "file is not a database")
// reads as a damaged store.
void check_store_identity_and_integrity(sqlite3 * db, const std::string & path) {
    int64_t app = 0;
    int64_t version = 0;
    std::vector<std::string> tables;
    std::vector<std::string> problems;
    bool older_compeval_store = false;
    try {
        auto read_int = [&](const char * sql) {
            auto s = prepare(db, path, sql);
            return step_row(db, path, s.get()) ? sqlite3_column_int64(s.get(), 0) : int64_t{0};
        };
        app = read_int("PRAGMA application_id");
        version = read_int("PRAGMA user_version");
        auto t = prepare(
            db, path, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
        while (step_row(db, path, t.get())) {
            tables.push_back(column_text(t.get(), 0));
        }
        if (tables.empty() && app == 0) {
            return;  // a new, empty store
        }
        // A store of a compeval from before the header was written has its
        // runs table, whose columns are compeval's own.
        auto legacy = prepare(db, path, "SELECT 1 FROM pragma_table_info('runs') WHERE name = 'compeval_version'");
        older_compeval_store = app == 0 && step_row(db, path, legacy.get());
        auto check = prepare(db, path, "PRAGMA integrity_check(3)");
        while (step_row(db, path, check.get())) {
            if (const auto line = column_text(check.get(), 0); line != "ok") {
                problems.push_back(line);
            }
        }
    } catch (const Error & e) {
        throw Error(path + ": the results store is damaged (" + e.what() + ")" + damaged_advice(path));
    }
    if (app != kStoreApplicationId && !older_compeval_store) {
        std::string what = "tables:";
        for (const auto & t : tables) {
            what += " " + t;
        }
        throw Error(path + ": an SQLite database, but not a compeval results store (" +
                    (app != 0 ? "application id " + std::to_string(app) : what) +
                    "); compeval does not write into another program's database: pick another --out directory");
    }
    if (version > kStoreSchemaVersion) {
        throw Error(path + ": written by a newer compeval (store schema " + std::to_string(version) +
                    "; this compeval knows up to " + std::to_string(kStoreSchemaVersion) +
                    "): use that compeval, or another --out directory");
    }
    if (!problems.empty()) {
        std::string what;
        for (const auto & p : problems) {
            what += (what.empty() ? "" : "; ") + p;
        }
        throw Error(path + ": the results store is damaged (SQLite integrity_check: " + what + ")" +
                    damaged_advice(path));
    }
}

}  // namespace compeval
