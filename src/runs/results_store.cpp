#include "runs/results_store.hpp"

#include "runs/sqlite_statement.hpp"
#include "runs/store_integrity.hpp"
#include "util/error.hpp"
#include "util/json_number.hpp"
#include "util/sha256.hpp"
#include "util/utc_time.hpp"
#include "version.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>


namespace compeval {
namespace {

const char * kSchema = R"(
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  suite_path TEXT, suite_text TEXT, compeval_version TEXT, llama_cpp TEXT,
  started_at TEXT, finished_at TEXT,
  scored INTEGER NOT NULL DEFAULT 0, reused INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS models (sha256 TEXT PRIMARY KEY, facts TEXT);
CREATE TABLE IF NOT EXISTS tasks (name TEXT, config_sha256 TEXT, config TEXT, PRIMARY KEY (name, config_sha256));
CREATE TABLE IF NOT EXISTS requests (
  model_sha256 TEXT NOT NULL, request_hash TEXT NOT NULL,
  task TEXT, context TEXT, continuation TEXT, parse_special INTEGER,
  logprob REAL, n_tokens INTEGER, greedy INTEGER, run_id INTEGER,
  PRIMARY KEY (model_sha256, request_hash));
CREATE TABLE IF NOT EXISTS answers (
  model_sha256 TEXT NOT NULL, request_hash TEXT NOT NULL,
  task TEXT, route TEXT, prompt TEXT, answer TEXT, run_id INTEGER,
  PRIMARY KEY (model_sha256, request_hash));
CREATE TABLE IF NOT EXISTS costs (
  run_id INTEGER, model_sha256 TEXT, task TEXT, requests INTEGER, tokens_decoded INTEGER, seconds REAL,
  load_seconds REAL, peak_rss_bytes INTEGER, threads INTEGER, batch INTEGER, machine TEXT);
CREATE TABLE IF NOT EXISTS layer_metrics (
  run_id INTEGER, model_sha256 TEXT, task TEXT, layer INTEGER, n INTEGER, metric TEXT, value REAL);
)";

}  // namespace

std::string request_hash(const LoglikelihoodRequest & request) {
    std::string key = request.context;
    key += '\x1f';
    key += request.continuation;
    key += '\x1f';
    key += request.parse_special ? '1' : '0';
    return sha256_string(key);
}

std::string answer_request_hash(const GenerationRequest & request, const std::string & route,
                                const std::string & endpoint) {
    nlohmann::json messages = nlohmann::json::array();
    for (const auto & m : request.messages) {
        messages.push_back({m.role, m.content});
    }
    return sha256_string(nlohmann::json{{"route", route},
                                        {"endpoint", endpoint},
                                        {"prompt", request.prompt},
                                        {"parse_special", request.parse_special},
                                        {"messages", messages},
                                        {"max_tokens", request.max_tokens},
                                        {"stop", request.stop},
                                        {"top_logprobs", request.top_logprobs}}
                             .dump());
}

ResultsStore::ResultsStore(const std::string & path) : path_(path) {
    check_file_header(path);
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
        const std::string cause = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw Error(path + ": cannot open results store: " + cause);
    }
    sqlite3_busy_timeout(db_, 10000);
    try {
        check_store_identity_and_integrity(db_, path);
        // WAL + NORMAL: a committed transaction survives the process being killed.
        exec("PRAGMA journal_mode=WAL;");
        exec("PRAGMA synchronous=NORMAL;");
        exec(kSchema);
        add_column("runs", "shard_index", "INTEGER NOT NULL DEFAULT 0");
        add_column("runs", "shard_count", "INTEGER NOT NULL DEFAULT 0");
        add_column("runs", "chunk", "INTEGER NOT NULL DEFAULT 0");
        add_column("requests", "row_check", "INTEGER");
        add_column("answers", "row_check", "INTEGER");
        exec("PRAGMA application_id = " + std::to_string(kStoreApplicationId) + ";");
        exec("PRAGMA user_version = " + std::to_string(kStoreSchemaVersion) + ";");
    } catch (...) {
        sqlite3_close_v2(db_);  // the destructor will not run
        db_ = nullptr;
        throw;
    }
}

ResultsStore::~ResultsStore() {
    sqlite3_close(db_);
}

void ResultsStore::exec(const std::string & sql) {
    char * message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        const std::string cause = message != nullptr ? message : "unknown error";
        sqlite3_free(message);
        throw Error(path_ + ": results store: " + cause);
    }
}

// Stores written before a column existed get it here, so they stay readable
// (their runs read as unsharded). IMMEDIATE: two processes opening one old
// store at once must not both add it.
void ResultsStore::add_to_counters(int64_t run_id, size_t scored, size_t reused) {
    auto c = prepare(db_, path_, "UPDATE runs SET scored = scored + ?, reused = reused + ? WHERE id = ?");
    sqlite3_bind_int64(c.get(), 1, static_cast<int64_t>(scored));
    sqlite3_bind_int64(c.get(), 2, static_cast<int64_t>(reused));
    sqlite3_bind_int64(c.get(), 3, run_id);
    step_done(db_, path_, c.get());
}

void ResultsStore::add_column(const char * table, const char * column, const char * type) {
    exec("BEGIN IMMEDIATE;");
    try {
        auto s = prepare(db_, path_, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
        bind_text(s.get(), 1, table);
        bind_text(s.get(), 2, column);
        if (!step_row(db_, path_, s.get())) {
            exec(std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + " " + type + ";");
        }
        exec("COMMIT;");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
        throw;
    }
}

int64_t ResultsStore::begin_run(const std::string & suite_path, const std::string & suite_text) {
    auto s = prepare(db_, path_,
                     "INSERT INTO runs (suite_path, suite_text, compeval_version, llama_cpp, started_at) "
                     "VALUES (?, ?, ?, ?, ?)");
    bind_text(s.get(), 1, suite_path);
    bind_text(s.get(), 2, suite_text);
    bind_text(s.get(), 3, kVersion);
    bind_text(s.get(), 4, kLlamaVersion);
    bind_text(s.get(), 5, now_utc());
    step_done(db_, path_, s.get());
    return sqlite3_last_insert_rowid(db_);
}

void ResultsStore::finish_run(int64_t run_id) {
    auto s = prepare(db_, path_, "UPDATE runs SET finished_at = ? WHERE id = ?");
    bind_text(s.get(), 1, now_utc());
    sqlite3_bind_int64(s.get(), 2, run_id);
    step_done(db_, path_, s.get());
    // A finished store is one self-contained file (no -wal beside it to lose
    // in a copy). Best effort: the WAL is as safe if this cannot run now.
    sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE);", nullptr, nullptr, nullptr);
}

void ResultsStore::record_shard(int64_t run_id, int index, int count, size_t chunk, const std::string & suite_path) {
    auto s =
        prepare(db_, path_, "UPDATE runs SET shard_index = ?, shard_count = ?, chunk = ?, suite_path = ? WHERE id = ?");
    sqlite3_bind_int(s.get(), 1, index);
    sqlite3_bind_int(s.get(), 2, count);
    sqlite3_bind_int64(s.get(), 3, static_cast<int64_t>(chunk));
    bind_text(s.get(), 4, suite_path);
    sqlite3_bind_int64(s.get(), 5, run_id);
    step_done(db_, path_, s.get());
}

std::vector<RunRecord> ResultsStore::runs() {
    auto s = prepare(db_, path_,
                     "SELECT id, suite_path, suite_text, compeval_version, finished_at, shard_index, shard_count, "
                     "chunk, scored, reused FROM runs ORDER BY id");
    std::vector<RunRecord> out;
    while (step_row(db_, path_, s.get())) {
        RunRecord r;
        r.id = sqlite3_column_int64(s.get(), 0);
        r.suite_path = column_text(s.get(), 1);
        r.suite_sha256 = sha256_string(column_text(s.get(), 2));
        r.compeval_version = column_text(s.get(), 3);
        r.finished_at = column_text(s.get(), 4);
        r.shard_index = sqlite3_column_int(s.get(), 5);
        r.shard_count = sqlite3_column_int(s.get(), 6);
        r.chunk = sqlite3_column_int64(s.get(), 7);
        r.scored = sqlite3_column_int64(s.get(), 8);
        r.reused = sqlite3_column_int64(s.get(), 9);
        out.push_back(std::move(r));
    }
    return out;
}

size_t ResultsStore::merge_from(const std::string & other_path) {
    { ResultsStore upgrade(other_path); }  // an older store gains the shard columns read below
    auto attach = prepare(db_, path_, "ATTACH DATABASE ? AS other");
    bind_text(attach.get(), 1, other_path);
    step_done(db_, path_, attach.get());
    size_t added = 0;
    try {
        exec("BEGIN IMMEDIATE;");
        auto max_id = prepare(db_, path_, "SELECT COALESCE(MAX(id), 0) FROM main.runs");
        step_row(db_, path_, max_id.get());
        // Run ids restart at 1 in every store: renumber, and every row that names a run with it.
        const std::string offset = std::to_string(sqlite3_column_int64(max_id.get(), 0));
        exec(
            "INSERT INTO main.runs (id, suite_path, suite_text, compeval_version, llama_cpp, started_at, "
            "finished_at, scored, reused, shard_index, shard_count, chunk) SELECT id + " +
            offset +
            ", suite_path, suite_text, compeval_version, llama_cpp, started_at, finished_at, scored, reused, "
            "shard_index, shard_count, chunk FROM other.runs;");
        exec("INSERT OR IGNORE INTO main.models (sha256, facts) SELECT sha256, facts FROM other.models;");
        exec(
            "INSERT OR IGNORE INTO main.tasks (name, config_sha256, config) "
            "SELECT name, config_sha256, config FROM other.tasks;");
        exec(
            "INSERT OR IGNORE INTO main.requests (model_sha256, request_hash, task, context, continuation, "
            "parse_special, logprob, n_tokens, greedy, run_id, row_check) SELECT model_sha256, request_hash, task, "
            "context, continuation, parse_special, logprob, n_tokens, greedy, run_id + " +
            offset + ", row_check FROM other.requests;");
        added = static_cast<size_t>(sqlite3_changes(db_));
        exec(
            "INSERT OR IGNORE INTO main.answers (model_sha256, request_hash, task, route, prompt, answer, run_id, "
            "row_check) SELECT model_sha256, request_hash, task, route, prompt, answer, run_id + " +
            offset + ", row_check FROM other.answers;");
        added += static_cast<size_t>(sqlite3_changes(db_));
        exec(
            "INSERT INTO main.costs (run_id, model_sha256, task, requests, tokens_decoded, seconds, load_seconds, "
            "peak_rss_bytes, threads, batch, machine) SELECT run_id + " +
            offset +
            ", model_sha256, task, requests, tokens_decoded, seconds, load_seconds, peak_rss_bytes, threads, batch, "
            "machine FROM other.costs;");
        exec("INSERT INTO main.layer_metrics (run_id, model_sha256, task, layer, n, metric, value) SELECT run_id + " +
             offset + ", model_sha256, task, layer, n, metric, value FROM other.layer_metrics;");
        exec("COMMIT;");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
        sqlite3_exec(db_, "DETACH DATABASE other;", nullptr, nullptr, nullptr);
        throw;
    }
    exec("DETACH DATABASE other;");
    return added;
}

void ResultsStore::record_model(const std::string & sha256, const std::string & facts_json) {
    auto s = prepare(db_, path_, "INSERT OR REPLACE INTO models (sha256, facts) VALUES (?, ?)");
    bind_text(s.get(), 1, sha256);
    bind_text(s.get(), 2, facts_json);
    step_done(db_, path_, s.get());
}

void ResultsStore::record_task(const std::string & name, const std::string & config_text) {
    auto s = prepare(db_, path_, "INSERT OR IGNORE INTO tasks (name, config_sha256, config) VALUES (?, ?, ?)");
    bind_text(s.get(), 1, name);
    bind_text(s.get(), 2, sha256_string(config_text));
    bind_text(s.get(), 3, config_text);
    step_done(db_, path_, s.get());
}

std::map<std::string, LoglikelihoodResult> ResultsStore::lookup(const std::string & model_sha256,
                                                                const std::vector<std::string> & hashes) {
    std::map<std::string, LoglikelihoodResult> out;
    auto s = prepare(db_, path_,
                     "SELECT logprob, n_tokens, greedy, row_check FROM requests WHERE model_sha256 = ? AND "
                     "request_hash = ?");
    for (const auto & h : hashes) {
        sqlite3_reset(s.get());
        bind_text(s.get(), 1, model_sha256);
        bind_text(s.get(), 2, h);
        if (step_row(db_, path_, s.get())) {
            const LoglikelihoodResult r{sqlite3_column_double(s.get(), 0), sqlite3_column_int(s.get(), 1),
                                        sqlite3_column_int(s.get(), 2) != 0};
            // Rows of stores written before row checks carry none.
            if (sqlite3_column_type(s.get(), 3) != SQLITE_NULL &&
                sqlite3_column_int64(s.get(), 3) != request_check(model_sha256, h, r)) {
                throw damaged_row_error(path_, "request", model_sha256, h);
            }
            out[h] = r;
        }
    }
    return out;
}

void ResultsStore::insert(int64_t run_id, const std::string & model_sha256, const std::vector<StoredRequest> & rows,
                          size_t reused) {
    exec("BEGIN IMMEDIATE;");
    try {
        auto s = prepare(
            db_, path_,
            "INSERT OR IGNORE INTO requests (model_sha256, request_hash, task, context, continuation, "
            "parse_special, logprob, n_tokens, greedy, run_id, row_check) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        for (const auto & r : rows) {
            sqlite3_reset(s.get());
            bind_text(s.get(), 1, model_sha256);
            bind_text(s.get(), 2, r.hash);
            bind_text(s.get(), 3, r.task);
            bind_text(s.get(), 4, r.request.context);
            bind_text(s.get(), 5, r.request.continuation);
            sqlite3_bind_int(s.get(), 6, r.request.parse_special ? 1 : 0);
            sqlite3_bind_double(s.get(), 7, r.result.logprob);
            sqlite3_bind_int(s.get(), 8, r.result.n_tokens);
            sqlite3_bind_int(s.get(), 9, r.result.greedy ? 1 : 0);
            sqlite3_bind_int64(s.get(), 10, run_id);
            sqlite3_bind_int64(s.get(), 11, request_check(model_sha256, r.hash, r.result));
            step_done(db_, path_, s.get());
        }
        add_to_counters(run_id, rows.size(), reused);
        exec("COMMIT;");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
        throw;
    }
}

std::map<std::string, GenerationResult> ResultsStore::lookup_answers(const std::string & model_sha256,
                                                                     const std::vector<std::string> & hashes) {
    std::map<std::string, GenerationResult> out;
    auto s = prepare(db_, path_, "SELECT answer, row_check FROM answers WHERE model_sha256 = ? AND request_hash = ?");
    for (const auto & h : hashes) {
        sqlite3_reset(s.get());
        bind_text(s.get(), 1, model_sha256);
        bind_text(s.get(), 2, h);
        if (step_row(db_, path_, s.get())) {
            const std::string text = column_text(s.get(), 0);
            if (sqlite3_column_type(s.get(), 1) != SQLITE_NULL &&
                sqlite3_column_int64(s.get(), 1) != answer_check(model_sha256, h, text)) {
                throw damaged_row_error(path_, "answer", model_sha256, h);
            }
            try {
                const auto j = nlohmann::json::parse(text);
                GenerationResult r;
                r.text = j.at("text").get<std::string>();
                r.n_tokens = json_whole<int>(j.at("n_tokens"), path_ + ": stored answer n_tokens");
                r.finish = j.at("finish").get<std::string>();
                for (const auto & t : j.at("first_top")) {
                    r.first_top.push_back({t.at(0).get<std::string>(), t.at(1).get<double>()});
                }
                out[h] = std::move(r);
            } catch (const nlohmann::json::exception & e) {
                throw Error(path_ + ": stored answer " + h + " is malformed (" + e.what() + ")" +
                            damaged_advice(path_));
            }
        }
    }
    return out;
}

void ResultsStore::insert_answers(int64_t run_id, const std::string & model_sha256,
                                  const std::vector<StoredAnswer> & rows, size_t reused) {
    exec("BEGIN IMMEDIATE;");
    try {
        auto s = prepare(db_, path_,
                         "INSERT OR IGNORE INTO answers (model_sha256, request_hash, task, route, prompt, answer, "
                         "run_id, row_check) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        for (const auto & r : rows) {
            nlohmann::json top = nlohmann::json::array();
            for (const auto & t : r.result.first_top) {
                top.push_back({t.token, t.logprob});
            }
            sqlite3_reset(s.get());
            bind_text(s.get(), 1, model_sha256);
            bind_text(s.get(), 2, r.hash);
            bind_text(s.get(), 3, r.task);
            bind_text(s.get(), 4, r.route);
            bind_text(s.get(), 5, r.prompt);
            const std::string answer = nlohmann::json{
                {"text", r.result.text},
                {"n_tokens", r.result.n_tokens},
                {"finish", r.result.finish},
                {"first_top", top}}.dump();
            bind_text(s.get(), 6, answer);
            sqlite3_bind_int64(s.get(), 7, run_id);
            sqlite3_bind_int64(s.get(), 8, answer_check(model_sha256, r.hash, answer));
            step_done(db_, path_, s.get());
        }
        add_to_counters(run_id, rows.size(), reused);
        exec("COMMIT;");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
        throw;
    }
}

void ResultsStore::record_layer_metrics(int64_t run_id, const std::string & model_sha256,
                                        const RepresentationResult & result) {
    exec("BEGIN IMMEDIATE;");
    try {
        auto s = prepare(db_, path_,
                         "INSERT INTO layer_metrics (run_id, model_sha256, task, layer, n, metric, value) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)");
        for (const auto & m : result.layers) {
            for (const auto & [metric, value] : m.values) {
                sqlite3_reset(s.get());
                sqlite3_bind_int64(s.get(), 1, run_id);
                bind_text(s.get(), 2, model_sha256);
                bind_text(s.get(), 3, result.task);
                sqlite3_bind_int(s.get(), 4, m.layer);
                sqlite3_bind_int64(s.get(), 5, static_cast<int64_t>(m.n));
                bind_text(s.get(), 6, metric);
                sqlite3_bind_double(s.get(), 7, value);
                step_done(db_, path_, s.get());
            }
        }
        exec("COMMIT;");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr);
        throw;
    }
}

void ResultsStore::record_cost(int64_t run_id, const std::string & model_sha256, const ScoringCost & cost) {
    auto s = prepare(db_, path_,
                     "INSERT INTO costs (run_id, model_sha256, task, requests, tokens_decoded, seconds, load_seconds, "
                     "peak_rss_bytes, threads, batch, machine) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_int64(s.get(), 1, run_id);
    bind_text(s.get(), 2, model_sha256);
    bind_text(s.get(), 3, cost.task);
    sqlite3_bind_int64(s.get(), 4, static_cast<int64_t>(cost.requests));
    sqlite3_bind_int64(s.get(), 5, static_cast<int64_t>(cost.tokens_decoded));
    sqlite3_bind_double(s.get(), 6, cost.seconds);
    sqlite3_bind_double(s.get(), 7, cost.load_seconds);
    sqlite3_bind_int64(s.get(), 8, static_cast<int64_t>(cost.peak_rss_bytes));
    sqlite3_bind_int(s.get(), 9, cost.threads);
    sqlite3_bind_int(s.get(), 10, cost.batch);
    bind_text(s.get(), 11, cost.machine);
    step_done(db_, path_, s.get());
}

std::vector<ScoringCost> ResultsStore::costs(const std::string & model_sha256) {
    auto s = prepare(db_, path_,
                     "SELECT run_id, task, requests, tokens_decoded, seconds, load_seconds, peak_rss_bytes, threads, "
                     "batch, machine FROM costs WHERE model_sha256 = ? ORDER BY run_id, rowid");
    bind_text(s.get(), 1, model_sha256);
    std::vector<ScoringCost> out;
    while (step_row(db_, path_, s.get())) {
        ScoringCost c;
        c.run_id = sqlite3_column_int64(s.get(), 0);
        c.task = column_text(s.get(), 1);
        c.requests = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 2));
        c.tokens_decoded = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 3));
        c.seconds = sqlite3_column_double(s.get(), 4);
        c.load_seconds = sqlite3_column_double(s.get(), 5);
        c.peak_rss_bytes = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 6));
        c.threads = sqlite3_column_int(s.get(), 7);
        c.batch = sqlite3_column_int(s.get(), 8);
        c.machine = column_text(s.get(), 9);
        out.push_back(std::move(c));
    }
    return out;
}

size_t ResultsStore::count_requests() {
    auto s = prepare(db_, path_, "SELECT COUNT(*) FROM requests");
    step_row(db_, path_, s.get());
    return static_cast<size_t>(sqlite3_column_int64(s.get(), 0));
}

std::vector<std::pair<int64_t, int64_t>> ResultsStore::run_counters() {
    std::vector<std::pair<int64_t, int64_t>> out;
    auto s = prepare(db_, path_, "SELECT scored, reused FROM runs ORDER BY id");
    while (step_row(db_, path_, s.get())) {
        out.emplace_back(sqlite3_column_int64(s.get(), 0), sqlite3_column_int64(s.get(), 1));
    }
    return out;
}

}  // namespace compeval
