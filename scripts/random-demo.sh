#!/usr/bin/env bash
# The engine on random-weight models (no download): three llama-architecture
# GGUFs with seeded random weights, their facts, the bundled items scored, and
# the demo suite (every built-in task on small slices) with its report. Not
# the main job (scripts/demo.sh): random models answer at chance, so their
# report shows the machinery, and no finding about language may be read from it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
mkdir -p build/models
[ -f build/models/demo-tiny.gguf ] || ./build/compeval make-model --preset tiny --out build/models/demo-tiny.gguf
[ -f build/models/demo-small.gguf ] || ./build/compeval make-model --preset small --out build/models/demo-small.gguf
[ -f build/models/demo-small-chat.gguf ] || ./build/compeval make-model --preset small \
  --chat-template suites/demo-chat-template.jinja --out build/models/demo-small-chat.gguf
./build/compeval info --model build/models/demo-small.gguf
./build/compeval score --model build/models/demo-small.gguf --items data/demo-items.jsonl --out build/demo-scores.jsonl
if [ -d ../shared/data/plane ]; then
  ./build/compeval run suites/demo.yaml --out build/demo-run
  ./build/compeval report build/demo-run > /dev/null
  echo "random-demo: build/demo-run/report.html (random weights: the machinery, not findings)" >&2
else
  echo "random-demo: ../shared/data not found; skipping the study tasks (compeval run suites/demo.yaml)" >&2
fi
