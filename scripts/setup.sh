#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages; the pinned llama.cpp is fetched
# and built by CMake into ~/.cache/compeval) and builds compeval into build/.
# Usage: scripts/setup.sh [build-dir] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake git pkg-config nodejs npm
          nlohmann-json3-dev libcli11-dev libfmt-dev libssl-dev libyaml-cpp-dev libsqlite3-dev libeigen3-dev libboost-dev
          libcurl4-openssl-dev
          libgtest-dev libgmock-dev)
# The tests also open the HTML report in a real browser (scripts/test.sh sets this).
# A Japanese font, so Chromium draws the Japanese report's text (not empty boxes).
if [ "${COMPEVAL_WITH_BROWSER:-0}" = 1 ]; then packages+=(chromium fonts-ipafont-gothic); fi
# The lab trains its models with libtorch on OpenBLAS (~650 MB of packages;
# the engine builds without them). scripts/test.sh and scripts/demo.sh set this.
if [ "${COMPEVAL_WITH_LAB:-0}" = 1 ]; then packages+=(libtorch-dev libopenblas0-pthread libblas-dev); fi
# scripts/fuzz.sh builds the parsers with clang and libFuzzer.
if [ "${COMPEVAL_WITH_FUZZ:-0}" = 1 ]; then packages+=(clang libfuzzer-14-dev libomp-14-dev); fi
# The Slurm recipe test runs a private single-node cluster (scripts/slurm-cluster.sh).
if [ "${COMPEVAL_WITH_SLURM:-0}" = 1 ]; then packages+=(slurm-wlm munge); fi
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

build_dir="${1:-build}"
shift || true
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# COMPEVAL_BUILD_TARGET: build only that target (scripts/fuzz.sh).
cmake --build "$build_dir" --parallel "$(nproc)" ${COMPEVAL_BUILD_TARGET:+--target "$COMPEVAL_BUILD_TARGET"}
