#!/usr/bin/env bash
# Builds and runs the whole test suite: compeval's code under AddressSanitizer
# + UndefinedBehaviorSanitizer (clang; the same build holds the libFuzzer
# targets, fuzzed 20 s each), then the Release build (g++) and its run, the
# Slurm recipe last. Ends with the time each phase took.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
# Tests run side by side; spinning OpenMP workers of one test would starve the
# other on a small machine.
export OMP_WAIT_POLICY=PASSIVE
# The HTML report test drives Debian's Chromium; setup.sh installs it.
export COMPEVAL_WITH_BROWSER=1
export COMPEVAL_WITH_FUZZ=1
# docs/scale-out.md's job array runs on a real single-node Slurm cluster (as root).
export COMPEVAL_WITH_SLURM=1
export COMPEVAL_WITH_CCACHE=1

phase_names=()
phase_seconds=()
# Runs one phase and notes its time (a failing phase still gets its row).
phase() {
  local name="$1" start end rc=0
  shift
  echo "== $name ==" >&2
  start=$(date +%s.%N)
  "$@" || rc=$?
  end=$(date +%s.%N)
  phase_names+=("$name")
  phase_seconds+=("$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')")
  return "$rc"
}
print_phases() {
  local total=0 i
  echo "== Time per phase (s) ==" >&2
  for i in "${!phase_names[@]}"; do
    printf '%-34s %8s\n' "${phase_names[$i]}" "${phase_seconds[$i]}" >&2
    total=$(awk -v a="$total" -v b="${phase_seconds[$i]}" 'BEGIN { printf "%.1f", a + b }')
  done
  printf '%-34s %8s\n' "total" "$total" >&2
  if command -v ccache >/dev/null 2>&1; then
    echo "ccache: $(ccache --print-stats 2>/dev/null | awk -F'\t' '/^direct_cache_hit|^preprocessed_cache_hit|^cache_miss/ {printf "%s %s  ", $1, $2}')" >&2
  fi
}
trap print_phases EXIT

sanitized_ctest() {
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --output-on-failure -j "$jobs")
}

phase "set-up (packages)" bash scripts/setup.sh --packages
phase "ASan+UBSan build (clang)" bash scripts/setup.sh --sanitize build-asan
phase "ASan+UBSan tests" sanitized_ctest
# Every parser of outside input under libFuzzer, ASan and UBSan, 20 s each
# (scripts/fuzz.sh --runs 1000000 is the long run docs/reliability.md reports).
phase "fuzzing (20 s per target)" bash scripts/fuzz.sh --seconds 20 --parallel "$jobs"
phase "Release build (g++)" bash scripts/setup.sh build
phase "Release tests" bash -c "cd build && ctest --output-on-failure -j $jobs -E '^Slurm'"
phase "Slurm recipe (Release)" bash -c "cd build && ctest --output-on-failure --no-tests=error -R '^Slurm'"
if [ -f build/test-artifacts/report-screenshot.png ]; then
  echo "test artifact: the HTML report as Chromium drew it: build/test-artifacts/report-screenshot.png" >&2
fi
