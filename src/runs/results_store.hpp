#pragma once
// The results store: every scored request of every run, in SQLite (WAL),
// keyed by model file hash + request hash. A request already stored is never
// scored again; a run killed at any moment keeps every committed chunk.
#include "scoring/answer_generator.hpp"
#include "scoring/requests.hpp"
#include "tasks/representation_task.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct sqlite3;

namespace compeval {

struct StoredRequest {
    std::string hash;
    LoglikelihoodRequest request;
    std::string task;
    LoglikelihoodResult result;
};

// One answer of the first-token or generative route.
struct StoredAnswer {
    std::string hash;  // answer_request_hash
    std::string task;
    std::string route;
    std::string prompt;
    GenerationResult result;
};

// What scoring one model x task cost in one run: the measured side of the
// report's cost section. Only requests scored in that run count (reused ones
// cost nothing), so rates are per scored request.
struct ScoringCost {
    int64_t run_id = 0;
    std::string task;
    uint64_t requests = 0;        // requests scored
    uint64_t tokens_decoded = 0;  // tokens run through the model for them
    double seconds = 0;           // wall time of the scoring calls
    double load_seconds = 0;      // the model's load time in that run
    uint64_t peak_rss_bytes = 0;  // process peak since the model was loaded
    int threads = 0;
    int batch = 0;
    std::string machine;
};

// One row of the `runs` table. shard_count is 0 for an unsharded run.
struct RunRecord {
    int64_t id = 0;
    std::string suite_path;
    std::string suite_sha256;  // of the suite text the run read
    std::string compeval_version;
    std::string finished_at;  // empty: killed or still running
    int shard_index = 0;      // 1-based
    int shard_count = 0;
    int64_t chunk = 0;  // a shard's --chunk (its plan depends on it)
    int64_t scored = 0;
    int64_t reused = 0;
};

class ResultsStore {
  public:
    // Opens (creating if needed) the store; throws compeval::Error naming the
    // file and what to do when it is not a compeval store, was written by a
    // newer schema, or fails SQLite's integrity_check (a truncated or damaged
    // file). Every stored result also carries a check of its own, verified
    // when it is read, so a flipped bit in a number is refused, not used.
    explicit ResultsStore(const std::string & path);
    ~ResultsStore();
    ResultsStore(const ResultsStore &) = delete;
    ResultsStore & operator=(const ResultsStore &) = delete;
    ResultsStore(ResultsStore &&) = delete;
    ResultsStore & operator=(ResultsStore &&) = delete;

    // Starts a run record; returns its id.
    int64_t begin_run(const std::string & suite_path, const std::string & suite_text);
    void finish_run(int64_t run_id);
    // Marks a run as shard index/count of its suite, planned with `chunk`.
    void record_shard(int64_t run_id, int index, int count, size_t chunk, const std::string & suite_path);
    std::vector<RunRecord> runs();

    void record_model(const std::string & sha256, const std::string & facts_json);
    void record_task(const std::string & name, const std::string & config_text);

    void record_cost(int64_t run_id, const std::string & model_sha256, const ScoringCost & cost);
    // Every recorded cost of one model, oldest run first.
    std::vector<ScoringCost> costs(const std::string & model_sha256);

    void record_layer_metrics(int64_t run_id, const std::string & model_sha256, const RepresentationResult & result);

    // The stored results among `hashes` for one model.
    std::map<std::string, LoglikelihoodResult> lookup(const std::string & model_sha256,
                                                      const std::vector<std::string> & hashes);

    // Inserts one chunk of scored requests and adds to the run's counters, in
    // one transaction: either all of it is stored or none.
    void insert(int64_t run_id, const std::string & model_sha256, const std::vector<StoredRequest> & rows,
                size_t reused);

    // The same for answers (first-token and generative routes).
    std::map<std::string, GenerationResult> lookup_answers(const std::string & model_sha256,
                                                           const std::vector<std::string> & hashes);
    void insert_answers(int64_t run_id, const std::string & model_sha256, const std::vector<StoredAnswer> & rows,
                        size_t reused);

    size_t count_requests();
    // (scored, reused) counters of every run, oldest first.
    std::vector<std::pair<int64_t, int64_t>> run_counters();

    // Copies another store in, in one transaction: its runs under new ids
    // (and its costs and layer metrics with them), models, tasks, and the
    // requests this store lacks. Returns the number of requests added.
    size_t merge_from(const std::string & other_path);

    const std::string & path() const { return path_; }

  private:
    void exec(const std::string & sql);
    void add_column(const char * table, const char * column, const char * type);
    void add_to_counters(int64_t run_id, size_t scored, size_t reused);  // inside the caller's transaction

    std::string path_;
    sqlite3 * db_ = nullptr;
};

// The key of a request in the store.
std::string request_hash(const LoglikelihoodRequest & request);
// The key of an answer: everything that shapes it (route, endpoint, prompt
// or messages, max_tokens, stop strings, top_logprobs).
std::string answer_request_hash(const GenerationRequest & request, const std::string & route,
                                const std::string & endpoint);

}  // namespace compeval
