#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz/fuzz_targets.cpp lists them)
# with libFuzzer, under AddressSanitizer + UndefinedBehaviorSanitizer, and
# prints the executions per target.
#
#   scripts/fuzz.sh                      20 s per target (scripts/test.sh runs this)
#   scripts/fuzz.sh --runs 1000000       the long run: 10^6 executions per target
#   scripts/fuzz.sh --seconds 60 gguf table
#   scripts/fuzz.sh --runs 1000000 --parallel 2   two targets at a time
#   scripts/fuzz.sh --runs 1000000 --seconds 1800 whichever comes first
#
# The fuzzer is the sanitizer build's (scripts/setup.sh --sanitize, build-asan/,
# the build scripts/test.sh runs the tests in). Each target starts from its
# seeds (the repository's own task, suite, domain and zoo files,
# fuzz/seeds/TARGET/) and the inputs kept from earlier findings
# (fuzz/regressions/TARGET/, which the normal test suite replays), and keeps
# its corpus in build-asan/fuzzing/corpus/TARGET across runs. A crash, a hang
# (10 s), a leak, memory past 2 GB or any exception other than compeval::Error
# escaping a parser stops the run; the input is left in build-asan/fuzzing/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
seconds_given=""
runs=""
parallel=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; seconds_given=1; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --parallel) parallel="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

COMPEVAL_BUILD_TARGET=compeval_fuzz bash scripts/setup.sh --sanitize build-asan
fuzzer="$PWD/build-asan/fuzz/compeval_fuzz"
work=build-asan/fuzzing
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(COMPEVAL_FUZZ_TARGET=list "$fuzzer")
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Each target is single-threaded (--parallel runs several side by side).
export OMP_NUM_THREADS=1

mkdir -p "$work/findings" "$work/logs"
limit=(-max_total_time="$seconds")
if [ -n "$runs" ]; then
  limit=(-runs="$runs")
  if [ -n "$seconds_given" ]; then limit+=(-max_total_time="$seconds"); fi
fi
# One target: fuzz it, then leave its table row in $work/logs/TARGET.row.
fuzz_target() {
  local t="$1" corpus="$work/corpus/$1" log="$work/logs/$1.log"
  COMPEVAL_FUZZ_TARGET="$t" COMPEVAL_FUZZ_SEEDS_TO="$corpus" "$fuzzer" 2>/dev/null
  local start end result=ok execs elapsed rate
  start=$(date +%s.%N)
  COMPEVAL_FUZZ_TARGET="$t" "$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$work/findings/$t-" "$corpus" >"$log" 2>&1 || result=FAILED
  end=$(date +%s.%N)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  rate=$(awk -v n="$execs" -v s="$elapsed" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
  printf '%-16s %12s %8s %10s %8s  %s\n' "$t" "$execs" "$elapsed" "$rate" "$(ls "$corpus" | wc -l)" "$result" \
    >"$work/logs/$t.row"
}

rm -f "$work"/logs/*.row
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_target "$t" &
done
wait

failed=()
printf '%-16s %12s %8s %10s %8s  %s\n' target executions seconds "exec/s" corpus result
for t in "${targets[@]}"; do
  row="$work/logs/$t.row"
  if [ -f "$row" ]; then cat "$row"; else printf '%-16s %12s\n' "$t" "did not finish"; fi
  if ! grep -q ' ok$' "$row" 2>/dev/null; then
    failed+=("$t")
    grep -m3 -E "ERROR|uncaught|SUMMARY|leak" "$work/logs/$t.log" >&2 || true
    echo "  log: $work/logs/$t.log; input: $(ls -t "$work"/findings/"$t"-* 2>/dev/null | head -1)" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed; once fixed, keep each input in fuzz/regressions/TARGET/" >&2
  exit 1
fi
