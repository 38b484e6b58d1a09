#!/usr/bin/env bash
# The main job on the embedded default: build everything, then answer the
# study's question with models trained here from scratch, where what they saw
# is known (no download, no random weights):
#  1. the lab's default zoo on its toy language (3 sizes x 3 seeds, each with
#     two instruction-tuned variants and two quantized copies), scored on seen
#     and unseen adjective-noun combinations: build/lab-run/report.html;
#  2. the pilot on the factory domain (domains/factory.yaml): a zoo of the same
#     shape trained on the domain's seen combinations, run on seen and unseen
#     ones, reported (build/pilot-factory/report.html), and summarized last:
#     unseen accuracy per recipe, what scale and instruction tuning do on
#     unseen combinations, and the recommendation.
# Trained models are cached under ~/.cache/compeval/lab; a rerun reuses them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build

cache="${XDG_CACHE_HOME:-$HOME/.cache}/compeval/lab"
./build/compeval lab zoo lab/zoo-default.yaml --out "$cache/zoo-default"
./build/compeval run "$cache/zoo-default/suite.yaml" --out build/lab-run
./build/compeval report build/lab-run > /dev/null
echo "demo: the lab's size series on its toy language: build/lab-run/report.html" >&2

# The pilot's own zoo (the settings of lab/zoo-factory.yaml), cached as
# ~/.cache/compeval/lab/pilot-factory: `compeval pilot domains/factory.yaml` reuses it.
./build/compeval pilot domains/factory.yaml --out build/pilot-factory --cost "no->yes=5"
echo "demo: the factory pilot's report: build/pilot-factory/report.html (compeval pilot domains/factory-ja.yaml --lang ja for Japanese)" >&2
