#!/usr/bin/env bash
# The main job on the embedded default: build everything, write small
# random-weight GGUFs (a base model and an instruct variant with a chat
# template; no download), score the bundled items, then run the demo suite
# (every built-in task on small slices) when the study data is present.
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
./build/compeval domain domains/factory.yaml --out build/factory
if [ -d ../shared/data/plane ]; then
  ./build/compeval run suites/demo.yaml --out build/demo-run
  ./build/compeval report build/demo-run
  echo "demo: open build/demo-run/report.html in a browser" >&2
else
  echo "demo: ../shared/data not found; skipping the study tasks (compeval run suites/demo.yaml)" >&2
fi
