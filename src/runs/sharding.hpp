#pragma once
// Scale-out: `run --shard i/N` scores a fixed 1/N of a suite's requests into
// its own store, and `merge` joins the N shard stores into one that exports
// exactly like an unsharded run (docs/scale-out.md).
#include "runs/results_store.hpp"
#include "scoring/requests.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace compeval {

struct SuiteSpec;
struct SuiteRunResult;

struct ShardSpec {
    int index = 0;  // 1-based
    int count = 0;  // 0: not sharded
    bool active() const { return count > 0; }
};

// Parses "i/N" (1-based: 1 <= i <= N); throws compeval::Error.
ShardSpec parse_shard(const std::string & text);

// What the plan gives every shard, over the whole suite (each shard computes
// all of it, so its marker shows the balance).
struct ShardPlan {
    ShardSpec shard;
    size_t chunk = 0;
    std::vector<uint64_t> tokens;    // per shard (index 0 = shard 1): tokens its chunks decode
    std::vector<uint64_t> requests;  // per shard: unique requests
};

// The unit of work is the runner's committed chunk: a shard scores whole
// chunks, cut from the same fixed order as an unsharded run with the same
// --chunk, so every request is scored in the same batch as there and the
// merged numbers equal the unsharded ones bit for bit. Chunks go to shards by
// longest-processing-time on the tokens each decodes (its prefix-tree size),
// with the shards' loads carried over the suite's model x task order; nothing
// depends on timing, threads or the store, so every shard computes the same
// plan and the shards partition the suite.
class ShardPlanner {
  public:
    ShardPlanner(ShardSpec shard, size_t chunk);
    // Per unique request (unique[k] indexes tokenized): whether this shard scores it.
    std::vector<bool> assign(const std::vector<TokenizedRequest> & tokenized, const std::vector<size_t> & unique);
    const ShardPlan & plan() const { return plan_; }

  private:
    ShardPlan plan_;
};

// Refuses a store holding runs of anything but this shard of this suite
// with this chunk and compeval version (a shard needs its own directory),
// then starts the run record, marked as the shard.
int64_t begin_shard_run(ResultsStore & store, const SuiteSpec & suite, const std::string & suite_text, ShardSpec shard,
                        size_t chunk);

// A shard's only export: dir/shard.json (which shard, the plan, the counters).
// No samples or summaries: they would describe a fraction of every task.
void write_shard_marker(const SuiteRunResult & run, const std::string & dir);

struct MergeOptions {
    std::string suite;     // default: the suite path the shards recorded
    std::string data_dir;  // as the shards' --data-dir
    int threads = 0;       // for representational tasks, recomputed at export
    int batch = 256;
};

struct MergeResult {
    std::string suite;
    int shards = 0;
    size_t requests = 0;    // in the merged store
    size_t duplicates = 0;  // rows more than one shard store held (kept once)
};

// Checks that shard_dirs are shards 1..N of one suite from this compeval
// version, all finished, copies them into out_dir/results.sqlite (which must
// not exist yet), then exports out_dir as `run` would, scoring nothing.
// Throws compeval::Error with a one-line reason.
MergeResult merge_shards(const std::string & out_dir, const std::vector<std::string> & shard_dirs,
                         const MergeOptions & options = {});

}  // namespace compeval
