#!/usr/bin/env bash
# Builds and runs the whole test suite: the Release build, then compeval's own
# code again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="$(nproc)"
# Tests run side by side; spinning OpenMP workers of one test would starve the
# other on a small machine.
export OMP_WAIT_POLICY=PASSIVE
# The HTML report test drives Debian's Chromium; setup.sh installs it.
export COMPEVAL_WITH_BROWSER=1
# The lab's trainer (libtorch) is tested in the Release run; libtorch is not
# built with sanitizers, so the ASan+UBSan build leaves the trainer out.
export COMPEVAL_WITH_LAB=1
# docs/scale-out.md's job array runs on a real single-node Slurm cluster (as root).
export COMPEVAL_WITH_SLURM=1

bash scripts/setup.sh build-asan -DCOMPEVAL_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOMPEVAL_WITH_LAB=OFF
echo "== ASan+UBSan test run ==" >&2
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$jobs")

# Every parser of outside input under libFuzzer, ASan and UBSan, 20 s each
# (scripts/fuzz.sh --runs 1000000 is the long run the README reports).
echo "== Fuzzing (20 s per target) ==" >&2
bash scripts/fuzz.sh --seconds 20 --parallel "$jobs"

bash scripts/setup.sh build
echo "== Release test run ==" >&2
(cd build && ctest --output-on-failure -j "$jobs")
if [ -f build/test-artifacts/report-screenshot.png ]; then
  echo "test artifact: the HTML report as Chromium drew it: build/test-artifacts/report-screenshot.png" >&2
fi
