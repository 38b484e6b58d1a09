#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages; the pinned llama.cpp is fetched
# and built by CMake into ~/.cache/compeval) and builds compeval.
# Usage: scripts/setup.sh [--packages | --sanitize] [build-dir] [extra cmake args...]
#   --packages   install the packages only
#   --sanitize   the sanitizer build (clang, ASan + UBSan, libFuzzer coverage,
#                the tests and the fuzz targets in one build; default dir build-asan)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=release
case "${1:-}" in
  --packages) mode=packages; shift ;;
  --sanitize) mode=sanitize; shift ;;
esac

# The lab's training loop calls CBLAS (libblas-dev) and runs on OpenBLAS.
packages=(build-essential cmake git pkg-config nodejs npm
          nlohmann-json3-dev libcli11-dev libfmt-dev libssl-dev libyaml-cpp-dev libsqlite3-dev libeigen3-dev libboost-dev
          libcurl4-openssl-dev libopenblas0-pthread libblas-dev
          libgtest-dev libgmock-dev)
# The tests also open the HTML report in a real browser (scripts/test.sh sets this).
# A Japanese font, so Chromium draws the Japanese report's text (not empty boxes).
if [ "${COMPEVAL_WITH_BROWSER:-0}" = 1 ]; then packages+=(chromium fonts-ipafont-gothic); fi
# The sanitizer build: clang with its ASan/UBSan runtimes, libFuzzer and OpenMP.
if [ "${COMPEVAL_WITH_FUZZ:-0}" = 1 ] || [ "$mode" = sanitize ]; then
  packages+=(clang libclang-rt-14-dev libfuzzer-14-dev libomp-14-dev)
fi
# The Slurm recipe test runs a private single-node cluster (scripts/slurm-cluster.sh).
if [ "${COMPEVAL_WITH_SLURM:-0}" = 1 ]; then packages+=(slurm-wlm munge); fi
# Compiler cache: a rebuild, or a fresh clone in another folder, reuses what
# was compiled before (CMakeLists.txt uses it when it is installed).
if [ "${COMPEVAL_WITH_CCACHE:-0}" = 1 ]; then packages+=(ccache); fi
missing=()
for p in "${packages[@]}"; do
  # npm may come with a Node.js that was not installed from Debian.
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[ "$mode" = packages ] && exit 0

if [ "$mode" = sanitize ]; then
  build_dir="${1:-build-asan}"
  shift || true
  # compeval's own code under clang: coverage for libFuzzer, ASan, UBSan; the
  # pinned llama.cpp stays the shared, uninstrumented g++ build of ~/.cache.
  set -- -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" -DCOMPEVAL_SANITIZE=ON -DCOMPEVAL_FUZZ=ON \
    -DCOMPEVAL_LLAMA_C_COMPILER="$(command -v gcc)" -DCOMPEVAL_LLAMA_CXX_COMPILER="$(command -v g++)" "$@"
else
  build_dir="${1:-build}"
  shift || true
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# COMPEVAL_BUILD_TARGET: build only that target (scripts/fuzz.sh).
cmake --build "$build_dir" --parallel "$(nproc)" ${COMPEVAL_BUILD_TARGET:+--target "$COMPEVAL_BUILD_TARGET"}
