#!/usr/bin/env bash
# The main job on the embedded default: build everything, write a small
# random-weight GGUF (no download), and score the bundled items with it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
model=build/models/demo-small.gguf
[ -f "$model" ] || ./build/compeval make-model --preset small --out "$model"
./build/compeval info --model "$model"
./build/compeval score --model "$model" --items data/demo-items.jsonl --out build/demo-scores.jsonl
