#pragma once
// Exports a compeval run directory in the layout lm-evaluation-harness
// (v0.4.x) writes with `--output_path OUT --log_samples`, so its tooling (and
// anything that reads its files) can load compeval results:
//
//   OUT/<model_name_sanitized>/results_<timestamp>.json
//   OUT/<model_name_sanitized>/samples_<task>_<timestamp>.jsonl   (one per task, with log_samples)
//
// Mapping (lm-eval sources this follows: lm_eval/loggers/evaluation_tracker.py,
// lm_eval/evaluator.py, lm_eval/evaluator_utils.py, lm_eval/api/task.py,
// lm_eval/api/metrics.py, lm_eval/utils.py):
// - An lm-eval task has one prompt and one split, so each compeval
//   task x split x prompt variant becomes the task "<task>_<split>_<variant>";
//   each compeval task becomes a group of those, aggregated as lm-eval does
//   with `aggregation: mean, weight_by_size: true` (size-weighted mean, pooled
//   sample stderr; "N/A" when any subtask's stderr is "N/A").
// - Metrics keep compeval's names (acc, acc_norm_tok, acc_norm_char,
//   acc_calibrated: whichever the run enabled) under the filter "none".
//   acc_norm is lm-eval's own: argmax of logprob / len(choice) in code points,
//   recomputed from the logged logprobs. Each task's config sets
//   target_delimiter "" and its docs list the continuations exactly as scored,
//   so that len(choice) covers what compeval scored. It equals acc_norm_char
//   for plain-form ASCII choices. It differs when compeval divides by UTF-8
//   bytes (non-ASCII) or counts a space the chat form stripped before scoring.
//   acc_calibrated is not lm-eval's acc_mutual_info: that one conditions on an
//   empty context, compeval on the task's calibration context.
// - Stderr is lm-eval's mean_stderr: sqrt(sum((x - mean)^2) / (n - 1)) / sqrt(n),
//   i.e. sqrt(p(1 - p) / (n - 1)) for 0/1 scores; "N/A" when n = 1.
// - Samples: doc_id is the item's position in the task, ordered by source line.
//   doc = {id, split, line, context, choices, gold, fields}; target = the gold
//   index as a string (lm-eval's doc_to_target for index targets).
//   arguments = {"gen_args_i": {"arg_0": context, "arg_1": continuation}} per
//   choice. resps = [[[str(logprob), str(greedy)]]] and
//   filtered_resps = [[str(logprob), str(greedy)]] per choice, in Python's
//   str() spelling ("-1.5e-05", "False"). doc_hash, prompt_hash and target_hash
//   are sha256 of json.dumps(doc, indent=2), the context and the target.
// - config.model and model_source are "compeval" (lm-eval stores the --model
//   backend there); the model's name is in model_args "pretrained=<name>,
//   gguf_sha256=<sha>" and in model_name. model_sha is the GGUF's sha256, and
//   model_num_parameters is set when summary.json has it.
// - The run directory does not record few-shot k or timings, so n-shot and
//   start/end times are null rather than guessed. "date" is the timestamp as
//   Unix time.
#include <string>
#include <vector>

namespace compeval {

// Reads RUN/samples.jsonl (and RUN/summary.json when present, for parameter
// counts) and writes one results file for each model, plus, with log_samples
// (lm-eval's --log_samples), one samples file per task: samples.jsonl again in
// lm-eval's shape, so only on request. Returns the paths written. `timestamp` is lm-eval's file date id,
// datetime.now().isoformat() with ':' replaced by '-' (e.g.
// 2026-11-28T22-41-07.123456). Throws compeval::Error naming the file and line
// on bad input. A run without multiple-choice samples writes nothing.
std::vector<std::string> write_lm_eval_outputs(const std::string & run_dir, const std::string & out_dir,
                                               const std::string & timestamp, bool log_samples);

}  // namespace compeval
