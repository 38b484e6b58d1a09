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
# Each target starts from its seeds (the repository's own task, suite, domain
# and zoo files, fuzz/seeds/TARGET/) and the inputs kept from earlier findings
# (fuzz/regressions/TARGET/, which the normal test suite replays), and keeps
# its corpus in build-fuzz/corpus/TARGET across runs. A crash, a hang (10 s),
# a leak, memory past 2 GB or any exception other than compeval::Error
# escaping a parser stops the run; the input is left in build-fuzz/findings/.
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

# compeval's code with clang (coverage, ASan, UBSan); llama.cpp stays the
# shared g++ build of the other build directories.
CC=clang CXX=clang++ COMPEVAL_WITH_FUZZ=1 COMPEVAL_BUILD_TARGET=compeval_fuzz \
  bash scripts/setup.sh build-fuzz -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" \
  -DCOMPEVAL_FUZZ=ON -DCOMPEVAL_SANITIZE=ON \
  -DCOMPEVAL_WITH_LAB=OFF -DCOMPEVAL_BUILD_TESTS=OFF \
  -DCOMPEVAL_LLAMA_C_COMPILER="$(command -v gcc)" -DCOMPEVAL_LLAMA_CXX_COMPILER="$(command -v g++)"
fuzzer="$PWD/build-fuzz/fuzz/compeval_fuzz"
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(COMPEVAL_FUZZ_TARGET=list "$fuzzer")
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Each target is single-threaded (--parallel runs several side by side).
export OMP_NUM_THREADS=1

mkdir -p build-fuzz/findings build-fuzz/logs
limit=(-max_total_time="$seconds")
if [ -n "$runs" ]; then
  limit=(-runs="$runs")
  if [ -n "$seconds_given" ]; then limit+=(-max_total_time="$seconds"); fi
fi
# One target: fuzz it, then leave its table row in build-fuzz/logs/TARGET.row.
fuzz_target() {
  local t="$1" corpus="build-fuzz/corpus/$1" log="build-fuzz/logs/$1.log"
  COMPEVAL_FUZZ_TARGET="$t" COMPEVAL_FUZZ_SEEDS_TO="$corpus" "$fuzzer" 2>/dev/null
  local start end result=ok execs elapsed rate
  start=$(date +%s.%N)
  COMPEVAL_FUZZ_TARGET="$t" "$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/findings/$t-" "$corpus" >"$log" 2>&1 || result=FAILED
  end=$(date +%s.%N)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  rate=$(awk -v n="$execs" -v s="$elapsed" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
  printf '%-16s %12s %8s %10s %8s  %s\n' "$t" "$execs" "$elapsed" "$rate" "$(ls "$corpus" | wc -l)" "$result" \
    >"build-fuzz/logs/$t.row"
}

rm -f build-fuzz/logs/*.row
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_target "$t" &
done
wait

failed=()
printf '%-16s %12s %8s %10s %8s  %s\n' target executions seconds "exec/s" corpus result
for t in "${targets[@]}"; do
  row="build-fuzz/logs/$t.row"
  if [ -f "$row" ]; then cat "$row"; else printf '%-16s %12s\n' "$t" "did not finish"; fi
  if ! grep -q ' ok$' "$row" 2>/dev/null; then
    failed+=("$t")
    grep -m3 -E "ERROR|uncaught|SUMMARY|leak" "build-fuzz/logs/$t.log" >&2 || true
    echo "  log: build-fuzz/logs/$t.log; input: $(ls -t build-fuzz/findings/"$t"-* 2>/dev/null | head -1)" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed; once fixed, keep each input in fuzz/regressions/TARGET/" >&2
  exit 1
fi
