#!/usr/bin/env bash
# The main job on the embedded default: build everything, write small
# random-weight GGUFs (a base model and an instruct variant with a chat
# template; no download), score the bundled items, then run the demo suite
# (every built-in task on small slices) when the study data is present.
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPEVAL_WITH_LAB=1  # the lab's zoo is trained with libtorch (setup.sh installs it)
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

# The lab: the default zoo trained from scratch on the toy language (cached
# outside the checkout; a rerun keeps models whose config is unchanged), then
# the size series scored on seen and unseen combinations, and its report.
zoo="${XDG_CACHE_HOME:-$HOME/.cache}/compeval/lab/zoo-default"
./build/compeval lab zoo lab/zoo-default.yaml --out "$zoo"
./build/compeval run "$zoo/suite.yaml" --out build/lab-run
./build/compeval report build/lab-run > /dev/null
echo "demo: the lab's size series: build/lab-run/report.html" >&2
