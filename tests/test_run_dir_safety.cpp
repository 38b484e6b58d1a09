// A run directory against what happens to real ones: a second writer, a
// full disk, a damaged or foreign results store, exports cut short or
// changed. Real processes, a real tmpfs, real SQLite files.
#include "runs/results_store.hpp"
#include "test_support.hpp"
#include "util/atomic_file.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

namespace compeval {
namespace {

namespace fs = std::filesystem;

struct StoredValue {
    double logprob = 0;
    int n_tokens = 0;
    int greedy = 0;
    bool operator==(const StoredValue &) const = default;
};
using StoredRows = std::map<std::pair<std::string, std::string>, StoredValue>;  // (model, request hash)

StoredRows rows_of(const std::string & path) {
    sqlite3 * db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt * s = nullptr;
    sqlite3_prepare_v2(db, "SELECT model_sha256, request_hash, logprob, n_tokens, greedy FROM requests", -1, &s,
                       nullptr);
    StoredRows rows;
    while (sqlite3_step(s) == SQLITE_ROW) {
        rows[{reinterpret_cast<const char *>(sqlite3_column_text(s, 0)),
              reinterpret_cast<const char *>(sqlite3_column_text(s, 1))}] = {
            sqlite3_column_double(s, 2), sqlite3_column_int(s, 3), sqlite3_column_int(s, 4)};
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rows;
}

test::CommandResult run_suite(const std::string & suite, const std::string & out) {
    return test::run_command(test::compeval_binary() + " run " + suite + " -o " + out + " --chunk 40 -t 1");
}

std::string host_name() {
    std::array<char, 256> buf{};
    gethostname(buf.data(), buf.size() - 1);
    return buf.data();
}

TEST(RunDirLock, ASecondWriterIsRefusedAtOnceNamingTheHolderAndAKilledWritersLockIsTakenOver) {
    const std::string dir = test::temp_dir("run-lock");
    const std::string suite = test::write_toy_suite(dir, 480);
    const std::string out = dir + "/out";
    auto first = test::start_process({test::compeval_binary(), "run", suite, "-o", out, "--chunk", "40", "-t", "1"},
                                     dir + "/first.log", false);
    const std::string lock = out + "/.compeval-writer.lock";
    for (int wait = 0; wait < 1200 && (!fs::exists(lock) || test::read_file(lock).empty()); ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Paused while the others try: a writer that holds the lock, however
    // fast this machine scores, without a suite long enough to outlast them.
    ASSERT_EQ(kill(first.pid, SIGSTOP), 0);
    const std::string holder = "pid " + std::to_string(first.pid) + " on " + host_name();
    ASSERT_NE(test::read_file(lock).find(holder), std::string::npos) << test::read_file(lock);

    const auto second = run_suite(suite, out);
    EXPECT_NE(second.exit_code, 0);
    EXPECT_NE(second.err.find(out + " is being written by another compeval (" + holder), std::string::npos)
        << second.err;
    EXPECT_TRUE(first.running()) << "the second run waited for the first instead of being refused at once";
    const auto merge = test::run_command(test::compeval_binary() + " merge " + out + " " + dir + "/no-shard");
    EXPECT_NE(merge.exit_code, 0);
    EXPECT_NE(merge.err.find("is being written by another compeval (" + holder), std::string::npos) << merge.err;

    // Killed once it has finished some chunks: the kernel drops its lock, the
    // text it wrote stays behind.
    ASSERT_EQ(kill(first.pid, SIGCONT), 0);
    const std::string store = out + "/results.sqlite";
    for (int wait = 0; wait < 3000 && first.running() && (!fs::exists(store) || rows_of(store).empty()); ++wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(first.running()) << "the first run finished before it could be killed";
    first.stop(SIGKILL);
    ASSERT_NE(test::read_file(lock).find(holder), std::string::npos);
    const auto resumed = run_suite(suite, out);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("took over " + lock + " from a run that did not finish (" + holder), std::string::npos)
        << resumed.err;
    EXPECT_EQ(test::read_file(lock), "") << "a clean exit leaves the lock empty";
    const auto clean = run_suite(suite, dir + "/clean");
    ASSERT_EQ(clean.exit_code, 0) << clean.err;
    EXPECT_EQ(rows_of(out + "/results.sqlite"), rows_of(dir + "/clean/results.sqlite"));
}

// A tmpfs the test mounts (as root) and takes down again.
class Tmpfs {
  public:
    Tmpfs(std::string path, size_t bytes) : path_(std::move(path)) {
        fs::create_directories(path_);
        mounted_ = mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + std::to_string(bytes)).c_str()) == 0;
        why_ = mounted_ ? "" : std::strerror(errno);
    }
    ~Tmpfs() {
        if (mounted_) {
            umount2(path_.c_str(), MNT_DETACH);
        }
    }
    Tmpfs(const Tmpfs &) = delete;
    Tmpfs & operator=(const Tmpfs &) = delete;
    Tmpfs(Tmpfs &&) = delete;
    Tmpfs & operator=(Tmpfs &&) = delete;

    bool resize(size_t bytes) {
        return mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, ("size=" + std::to_string(bytes)).c_str()) == 0;
    }
    bool mounted() const { return mounted_; }
    const std::string & why() const { return why_; }
    const std::string & path() const { return path_; }

  private:
    std::string path_;
    bool mounted_ = false;
    std::string why_;
};

TEST(FullDisk, ARunThatFillsItsDiskStopsNamingThePathKeepsItsChunksAndResumesToTheSameResults) {
    const std::string dir = test::temp_dir("full-disk");
    const std::string suite = test::write_toy_suite(dir, 240);
    const auto clean = run_suite(suite, dir + "/clean");
    ASSERT_EQ(clean.exit_code, 0) << clean.err;
    const auto clean_rows = rows_of(dir + "/clean/results.sqlite");
    const auto store_bytes = fs::file_size(dir + "/clean/results.sqlite");
    Tmpfs disk(dir + "/disk", store_bytes / 2);
    if (!disk.mounted()) {
        GTEST_SKIP() << "cannot mount a tmpfs at " << disk.path() << " (" << disk.why()
                     << "): the full-disk test needs root";
    }
    const std::string out = disk.path() + "/run";
    const auto full = run_suite(suite, out);
    EXPECT_NE(full.exit_code, 0);
    const std::string last_line = full.err.substr(full.err.rfind('\n', full.err.size() - 2) + 1);
    EXPECT_NE(last_line.find(out + "/results.sqlite"), std::string::npos) << full.err;
    EXPECT_NE(last_line.find("full"), std::string::npos) << full.err;

    // Every committed chunk is kept, each row as an uninterrupted run has it.
    const auto kept = rows_of(out + "/results.sqlite");
    EXPECT_GT(kept.size(), 0U);
    EXPECT_LT(kept.size(), clean_rows.size());
    for (const auto & [key, value] : kept) {
        ASSERT_TRUE(clean_rows.contains(key));
        EXPECT_EQ(value, clean_rows.at(key));
    }

    ASSERT_TRUE(disk.resize(size_t{64} << 20U));
    const auto resumed = run_suite(suite, out);
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(rows_of(out + "/results.sqlite"), clean_rows);
    for (const char * file : {"samples.jsonl", "summary.csv", "summary.json", "layers.csv"}) {
        EXPECT_EQ(test::read_file(out + "/" + file), test::read_file(dir + "/clean/" + file)) << file;
    }
}

TEST(FullDisk, AnExportThatDoesNotFitFailsNamingItsPathAndLeavesTheOldFileWhole) {
    const std::string dir = test::temp_dir("full-disk-export");
    Tmpfs disk(dir + "/disk", 64 << 10U);
    if (!disk.mounted()) {
        GTEST_SKIP() << "cannot mount a tmpfs at " << disk.path() << " (" << disk.why()
                     << "): the full-disk test needs root";
    }
    const std::string path = disk.path() + "/summary.json";
    write_file_atomically(path, "[]\n");
    const std::string message = test::error_of([&] { write_file_atomically(path, std::string(1U << 20U, 'x')); });
    EXPECT_NE(message.find(path + ": cannot write: No space left on device"), std::string::npos) << message;
    EXPECT_EQ(test::read_file(path), "[]\n");
    EXPECT_FALSE(fs::exists(path + ".partial"));
}

// Writes bytes over `path`.
void overwrite(const std::string & path, const std::string & bytes) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    for (const char * suffix : {"-wal", "-shm"}) {
        fs::remove(path + suffix);
    }
}

TEST(DamagedStore, TruncatedForeignAndNewerStoresAreRefusedBeforeAnythingIsReadOrWritten) {
    const std::string dir = test::temp_dir("damaged-store");
    const std::string suite = test::write_toy_suite(dir, 24);
    ASSERT_EQ(run_suite(suite, dir + "/clean").exit_code, 0);
    const std::string good = test::read_file(dir + "/clean/results.sqlite");
    ASSERT_GT(good.size(), 8192U);

    const auto foreign = [&](const std::string & path, const char * sql) {
        sqlite3 * db = nullptr;
        sqlite3_open(path.c_str(), &db);
        sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
        sqlite3_close(db);
    };
    struct Case {
        const char * name;
        std::function<void(const std::string &)> make;
        const char * says;
    };
    const std::vector<Case> cases = {
        {"half", [&](const std::string & p) { overwrite(p, good.substr(0, good.size() / 2)); }, "is damaged"},
        {"header-only", [&](const std::string & p) { overwrite(p, good.substr(0, 10)); },
         "not a compeval results store: only 10 bytes"},
        {"text", [&](const std::string & p) { overwrite(p, "model,task,acc\nbase,toy,0.5\n"); },
         "not an SQLite database"},
        {"foreign", [&](const std::string & p) { foreign(p.c_str(), "CREATE TABLE users (id INTEGER, name TEXT);"); },
         "an SQLite database, but not a compeval results store (tables: users)"},
        // Another tracker's store has a runs table too (MLflow's does).
        {"foreign-runs",
         [&](const std::string & p) { foreign(p.c_str(), "CREATE TABLE runs (run_uuid TEXT, status TEXT);"); },
         "not a compeval results store (tables: runs)"},
        {"newer",
         [&](const std::string & p) {
             overwrite(p, good);
             foreign(p.c_str(), "PRAGMA user_version = 99;");
         },
         "written by a newer compeval (store schema 99"},
    };
    for (const auto & c : cases) {
        const std::string out = dir + "/" + c.name;
        fs::create_directories(out);
        c.make(out + "/results.sqlite");
        const std::string before = test::read_file(out + "/results.sqlite");
        const auto run = run_suite(suite, out);
        EXPECT_NE(run.exit_code, 0) << c.name;
        EXPECT_NE(run.err.find(out + "/results.sqlite: "), std::string::npos) << c.name << ": " << run.err;
        EXPECT_NE(run.err.find(c.says), std::string::npos) << c.name << ": " << run.err;
        EXPECT_EQ(test::read_file(out + "/results.sqlite"), before) << c.name << ": the refused store was written to";
        EXPECT_FALSE(fs::exists(out + "/samples.jsonl")) << c.name;
    }
}

// One bit flipped anywhere in a finished store: either the store is refused
// (integrity_check, its header, a row's own check) or every result read from
// it is the one that was written. Never a changed number.
TEST(DamagedStore, NoFlippedBitChangesAResultReadFromTheStore) {
    const std::string dir = test::temp_dir("flipped-store");
    const std::string suite = test::write_toy_suite(dir, 48);
    ASSERT_EQ(run_suite(suite, dir + "/clean").exit_code, 0);
    const std::string good = test::read_file(dir + "/clean/results.sqlite");
    const auto clean = rows_of(dir + "/clean/results.sqlite");
    std::map<std::string, std::vector<std::string>> hashes;  // model -> request hashes
    for (const auto & [key, value] : clean) {
        hashes[key.first].push_back(key.second);
    }
    std::mt19937_64 rng(2026);
    size_t refused = 0;
    size_t identical = 0;
    size_t changed = 0;
    const std::string path = dir + "/flipped.sqlite";
    for (int trial = 0; trial < 200; ++trial) {
        std::string bytes = good;
        const size_t at = rng() % bytes.size();
        bytes[at] = static_cast<char>(bytes[at] ^ (1U << (rng() % 8)));
        overwrite(path, bytes);
        try {
            ResultsStore store(path);
            for (const auto & [model, list] : hashes) {
                for (const auto & [hash, r] : store.lookup(model, list)) {
                    const StoredValue got{r.logprob, r.n_tokens, r.greedy ? 1 : 0};
                    if (!(got == clean.at({model, hash}))) {
                        ++changed;
                        ADD_FAILURE() << "byte " << at << ": request " << hash << " read back changed";
                    }
                }
            }
            ++identical;
        } catch (const Error &) {
            ++refused;
        }
    }
    EXPECT_EQ(changed, 0U);
    EXPECT_GT(refused, 10U) << "identical " << identical;
    std::cout << "flipped bits: " << refused << " refused, " << identical << " read back unchanged, " << changed
              << " changed\n";
}

TEST(RunExports, AReportRefusesExportsCutShortOrChangedAfterTheRun) {
    const std::string dir = test::temp_dir("cut-exports");
    const std::string suite = test::write_toy_suite(dir, 24);
    const std::string run = dir + "/run";
    ASSERT_EQ(run_suite(suite, run).exit_code, 0);
    const auto report = [&] {
        return test::run_command(test::compeval_binary() + " report " + run + " --iterations 50");
    };
    ASSERT_EQ(report().exit_code, 0) << report().err;
    const std::string samples = test::read_file(run + "/samples.jsonl");
    const std::string summary = test::read_file(run + "/summary.json");
    const std::string manifest = test::read_file(run + "/manifest.json");

    const auto refused = [&](const std::string & what, const std::string & says) {
        const auto r = report();
        EXPECT_NE(r.exit_code, 0) << what;
        EXPECT_NE(r.err.find(says), std::string::npos) << what << ": " << r.err;
        write_file_atomically(run + "/samples.jsonl", samples);
        write_file_atomically(run + "/summary.json", summary);
        write_file_atomically(run + "/manifest.json", manifest);
    };
    write_file_atomically(run + "/samples.jsonl", samples.substr(0, samples.size() / 2));
    refused("cut mid-line", run + "/samples.jsonl: " + std::to_string(samples.size() / 2) + " bytes");
    const size_t last_line = samples.rfind('\n', samples.size() - 2) + 1;
    write_file_atomically(run + "/samples.jsonl", samples.substr(0, last_line));
    refused("cut at a line boundary", "the file was cut short or changed");
    std::string flipped = summary;
    flipped[flipped.find_first_of("123456789")] ^= 1;
    write_file_atomically(run + "/summary.json", flipped);
    refused("a changed digit", run + "/summary.json: its bytes differ from what the run wrote");
    fs::remove(run + "/manifest.json");
    write_file_atomically(run + "/samples.jsonl", samples.substr(0, samples.size() / 2));
    refused("cut without a manifest", "the file ends in the middle of a sample");
    EXPECT_EQ(report().exit_code, 0);
}

}  // namespace
}  // namespace compeval
