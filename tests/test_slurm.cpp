// docs/scale-out.md's Slurm recipe on a real single-node Slurm cluster
// (scripts/slurm-cluster.sh): the job-array and merge scripts are taken from the
// document verbatim, one task is cancelled and one requeued mid-run, and the
// merged exports are the bytes of an unsharded run.
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>
#include <utility>

namespace compeval {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The ```bash block that follows the first line of `doc` containing `marker`
// (the marker may be inside the block itself).
std::string bash_block(const std::string & doc, const std::string & marker) {
    const size_t at = doc.find(marker);
    if (at == std::string::npos) {
        return "";
    }
    size_t open = doc.rfind("```bash\n", at);
    if (open == std::string::npos || doc.find("```\n", open + 8) < at) {
        open = doc.find("```bash\n", at);  // the marker precedes its block
    }
    if (open == std::string::npos) {
        return "";
    }
    const size_t close = doc.find("\n```\n", open);
    return doc.substr(open + 8, close - open - 8 + 1);
}

// A block with its first line `from` replaced by `to`; empty if it does not start so.
std::string with_first_line(const std::string & block, const std::string & from, const std::string & to) {
    if (block.rfind(from + "\n", 0) != 0) {
        return "";
    }
    return to + block.substr(from.size());
}

// Stops the cluster's daemons (by their pid files) however the test ends; its
// logs are kept when the test failed.
struct SlurmCluster {
    std::string dir;
    explicit SlurmCluster(std::string where) : dir(std::move(where)) {}
    SlurmCluster(const SlurmCluster &) = delete;
    SlurmCluster & operator=(const SlurmCluster &) = delete;
    ~SlurmCluster() {
        test::run_command("bash " + test::source_dir() + "/scripts/slurm-cluster.sh stop " + dir);
        if (::testing::Test::HasFailure()) {
            std::cerr << "Slurm's logs: " << dir << "/log\n";
        } else {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        }
    }
};

// "JobState=X" and "Reason=Y" of one job (or array task) as scontrol shows it.
std::pair<std::string, std::string> job_state(const std::string & job) {
    const auto shown = test::run_command("scontrol show job -o " + job);
    std::smatch state;
    std::smatch reason;
    std::regex_search(shown.out, state, std::regex("JobState=(\\S+)"));
    std::regex_search(shown.out, reason, std::regex("Reason=(\\S+)"));
    return {state.empty() ? "" : state[1].str(), reason.empty() ? "" : reason[1].str()};
}

bool wait_for(const std::function<bool()> & done, std::chrono::seconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(200ms);
    }
    return done();
}

// Requests a shard has committed to its store (0 while it has none or no store).
long committed_requests(const std::string & store) {
    if (!fs::exists(store)) {
        return 0;
    }
    sqlite3 * db = nullptr;
    long count = 0;
    if (sqlite3_open_v2(store.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_stmt * statement = nullptr;
        if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM requests", -1, &statement, nullptr) == SQLITE_OK &&
            sqlite3_step(statement) == SQLITE_ROW) {
            count = sqlite3_column_int64(statement, 0);
        }
        sqlite3_finalize(statement);
    }
    sqlite3_close(db);
    return count;
}

TEST(Slurm, JobArrayOfTheRecipeCancelledRequeuedAndMergedGivesTheUnshardedBytes) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "a Slurm cluster needs root (slurmd runs every job as its user); CI runs as root";
    }
    const std::string doc = test::read_file(test::source_dir() + "/docs/scale-out.md");
    const std::string shard_script = bash_block(doc, "`shard.sbatch`:");
    const std::string merge_script = bash_block(doc, "`merge.sbatch` (");
    const std::string submit = with_first_line(bash_block(doc, "jid=$(sbatch --parsable --array=1-${N}"), "N=8", "N=3");
    const std::string resubmit = bash_block(doc, "again=$(sbatch --parsable --array=3 shard.sbatch ${N})");
    ASSERT_NE(shard_script.find("compeval run suite.yaml --shard"), std::string::npos) << shard_script;
    ASSERT_NE(merge_script.find("compeval merge merged shards/*"), std::string::npos) << merge_script;
    ASSERT_FALSE(submit.empty()) << "docs/scale-out.md: the submit block must start with N=8";
    ASSERT_NE(resubmit.find("scancel ${merge}"), std::string::npos) << resubmit;
    // The Kubernetes manifests run the very compeval commands this test runs.
    for (const std::string & script : {shard_script, merge_script}) {
        const size_t exec = script.find("exec compeval ");
        ASSERT_NE(exec, std::string::npos) << script;
        const std::string command = script.substr(exec, script.find('\n', exec) - exec);
        EXPECT_NE(doc.find(command, doc.find("## Kubernetes")), std::string::npos)
            << "the Kubernetes manifests do not run: " << command;
    }

    const std::string work = test::temp_dir("slurm-work");
    test::write_toy_suite(work, 1200);
    std::ofstream(work + "/shard.sbatch") << shard_script;
    std::ofstream(work + "/merge.sbatch") << merge_script;
    const auto whole =
        test::run_command("cd " + work + " && " + test::compeval_binary() + " run suite.yaml --out whole");
    ASSERT_EQ(whole.exit_code, 0) << whole.err;

    // A short private path: munge's socket path must fit in sockaddr_un.
    SlurmCluster cluster{"/tmp/compeval-slurm-" + std::to_string(::getpid())};
    const auto started =
        test::run_command("bash " + test::source_dir() + "/scripts/slurm-cluster.sh start " + cluster.dir);
    ASSERT_EQ(started.exit_code, 0) << started.err;
    ASSERT_EQ(started.out, "export SLURM_CONF=" + cluster.dir + "/slurm.conf\n");
    ::setenv("SLURM_CONF", (cluster.dir + "/slurm.conf").c_str(), 1);
    // Jobs inherit the submitter's environment: compeval on PATH, as on a cluster.
    const std::string bin_dir = fs::path(test::compeval_binary()).parent_path().string();
    ::setenv("PATH", (bin_dir + ":" + std::getenv("PATH")).c_str(), 1);

    std::ofstream(work + "/submit.sh") << "set -euo pipefail\n" << submit << "echo \"$jid $merge\"\n";
    const auto submitted = test::run_command("cd " + work + " && bash submit.sh");
    ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
    std::istringstream ids(submitted.out);
    std::string jid;
    std::string merge;
    ids >> jid >> merge;
    ASSERT_FALSE(merge.empty()) << submitted.out;

    // Task 3 is cancelled and task 2 requeued, each as soon as it has committed work.
    const auto committed = [&](int shard) {
        return committed_requests(work + "/shards/" + std::to_string(shard) + "/results.sqlite");
    };
    bool cancelled = false;
    long committed_before_requeue = 0;
    ASSERT_TRUE(wait_for(
        [&] {
            if (!cancelled && committed(3) > 0) {
                EXPECT_EQ(job_state(jid + "_3").first, "RUNNING") << "shard 3 finished before it could be cancelled";
                cancelled = test::run_command("scancel " + jid + "_3").exit_code == 0;
            }
            if (committed_before_requeue == 0 && committed(2) > 0) {
                committed_before_requeue = committed(2);
                EXPECT_EQ(job_state(jid + "_2").first, "RUNNING") << "shard 2 finished before it could be requeued";
                EXPECT_EQ(test::run_command("scontrol requeue " + jid + "_2").exit_code, 0);
            }
            return cancelled && committed_before_requeue > 0;
        },
        240s))
        << "shards 2 and 3 committed nothing in 4 minutes";
    // Slurm holds a requeued job for two minutes; the test need not wait them out.
    ASSERT_TRUE(wait_for([&] { return job_state(jid + "_2").first == "PENDING"; }, 60s));
    // Not at once: slurmd refuses a launch whose credential dates from the second its previous run was
    // revoked in ("Job credential revoked"), which an immediate restart can hit.
    EXPECT_EQ(test::run_command("scontrol update JobId=" + jid + "_2 StartTime=now+3").exit_code, 0);

    EXPECT_TRUE(wait_for([&] { return job_state(jid + "_3").first == "CANCELLED"; }, 60s));
    ASSERT_TRUE(wait_for([&] { return job_state(jid + "_1").first == "COMPLETED"; }, 300s));
    ASSERT_TRUE(wait_for([&] { return job_state(jid + "_2").first == "COMPLETED"; }, 300s))
        << test::read_file(work + "/logs/shard-2.out");
    // The first merge can never start, and merge refuses the unfinished shard.
    EXPECT_TRUE(wait_for([&] { return job_state(merge).second == "DependencyNeverSatisfied"; }, 60s))
        << job_state(merge).first << " " << job_state(merge).second;
    const auto early = test::run_command("cd " + work + " && compeval merge early shards/*");
    EXPECT_EQ(early.exit_code, 1);
    EXPECT_NE(early.err.find("run it again to resume"), std::string::npos) << early.err;
    const auto partial = test::run_command("cd " + work + " && compeval merge early shards/1 shards/2");
    EXPECT_EQ(partial.exit_code, 1);
    EXPECT_EQ(partial.err, "compeval: error: missing shard 3 of 3\n");
    EXPECT_FALSE(fs::exists(work + "/early"));

    std::ofstream(work + "/resubmit.sh") << "set -euo pipefail\nN=3\njid=" << jid << "\nmerge=" << merge << "\n"
                                         << resubmit << "echo \"$again $merge\"\n";
    const auto resubmitted = test::run_command("cd " + work + " && bash resubmit.sh");
    ASSERT_EQ(resubmitted.exit_code, 0) << resubmitted.err;
    std::istringstream new_ids(resubmitted.out);
    std::string again;
    std::string final_merge;
    new_ids >> again >> final_merge;
    ASSERT_FALSE(final_merge.empty()) << resubmitted.out;
    EXPECT_TRUE(wait_for([&] { return job_state(merge).first == "CANCELLED"; }, 60s));
    ASSERT_TRUE(wait_for(
        [&] {
            const auto state = job_state(final_merge).first;
            return state != "PENDING" && state != "RUNNING";
        },
        420s));
    ASSERT_EQ(job_state(final_merge).first, "COMPLETED") << test::read_file(work + "/logs/merge.out");

    for (const char * file : {"samples.jsonl", "summary.json", "summary.csv"}) {
        ASSERT_TRUE(fs::exists(work + "/whole/" + file)) << file;
        EXPECT_EQ(test::read_file(work + "/merged/" + file), test::read_file(work + "/whole/" + file)) << file;
    }
    // The two interrupted shards resumed: what they had committed was reused.
    for (int shard : {2, 3}) {
        const auto facts =
            nlohmann::json::parse(test::read_file(work + "/shards/" + std::to_string(shard) + "/shard.json"));
        EXPECT_GT(facts.at("reused").get<long>(), 0) << "shard " << shard << ": " << facts.dump();
        EXPECT_GT(facts.at("scored").get<long>(), 0) << "shard " << shard << ": " << facts.dump();
    }
    EXPECT_GE(nlohmann::json::parse(test::read_file(work + "/shards/2/shard.json")).at("reused").get<long>(),
              committed_before_requeue);
}

}  // namespace
}  // namespace compeval
