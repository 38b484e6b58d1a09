#!/usr/bin/env bash
# The whole study at full size (suites/full-study.yaml), measured at 3, 6 and 12
# models (the first N models of the suite: whole families), each into its own
# run directory build/full-study-N: the run, the report, and the report page in
# headless Chromium. Prints one JSON line per size and writes them all to
# build/full-study-growth.jsonl; docs/performance.md ("Scale") has the table they make.
#
#   bash scripts/full-study.sh            # 3, 6 and 12 models
#   bash scripts/full-study.sh 3          # only these sizes
#
# The models are seeded random weights (see the suite), made once into
# build/models/study/; the factory domain's task is generated into build/factory.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(3 6 12)
[ -d ../shared/data/plane ] || { echo "full-study: ../shared/data not found (the study's data sets)" >&2; exit 1; }

COMPEVAL_WITH_BROWSER=1 bash scripts/setup.sh build
bin=./build/compeval
models=build/models/study
mkdir -p "$models"
template=suites/demo-chat-template.jinja
make_model() { # NAME ARGS...: one generated model, made once
  local name="$1"; shift
  [ -f "$models/$name.gguf" ] || "$bin" make-model --out "$models/$name.gguf" "$@" >/dev/null
}
larger=(--n-embd 128 --n-layer 4 --n-ff 384)
seed=0
for family in falcon llama2 codellama mistral; do
  arch=(--arch llama)
  [ "$family" = falcon ] && arch=(--arch falcon)
  [ "$family" = mistral ] && arch+=(--n-head-kv 2)  # grouped-query attention, as Mistral has
  make_model "$family-base" "${arch[@]}" --seed $((seed + 1))
  make_model "$family-instruct" "${arch[@]}" --seed $((seed + 2)) --chat-template "$template"
  make_model "$family-larger" "${arch[@]}" --seed $((seed + 3)) "${larger[@]}"
  seed=$((seed + 10))
done
[ -f build/factory/task.yaml ] || "$bin" domain domains/factory.yaml -o build/factory >/dev/null

node_modules="$(sed -n 's/^COMPEVAL_CACHE_DIR:PATH=//p' build/CMakeCache.txt)/web-assets/node_modules"
growth=build/full-study-growth.jsonl
: >"$growth"
for n in "${sizes[@]}"; do
  out="build/full-study-$n"
  rm -rf "$out"
  mkdir -p "$out"
  # The first n models of the shipped suite, its relative paths one directory deeper.
  suite="$out/suite.yaml"
  awk -v n="$n" '/^  - \{name: / { if (++m > n) next } { print }' suites/full-study.yaml |
    sed 's#: \.\./#: ../../#g; s#^  - \.\./#  - ../../#' >"$suite"
  echo "== $n models: compeval run ==" >&2
  /usr/bin/time -f '%e %M' -o "$out/run.time" "$bin" run "$suite" --out "$out/run" >"$out/run.log" 2>"$out/run.err"
  echo "== $n models: compeval run again (every request in the store: lookups and exports) ==" >&2
  /usr/bin/time -f '%e %M' -o "$out/export.time" "$bin" run "$suite" --out "$out/run" >/dev/null 2>&1
  echo "== $n models: compeval report ==" >&2
  /usr/bin/time -f '%e %M' -o "$out/report.time" "$bin" report "$out/run" >/dev/null
  echo "== $n models: the page in Chromium ==" >&2
  echo '[{"task": "plane-ood"}, {"task": "plane-ood", "correct": "false"}, {"task": "rnpc-spte-ranking"}, {"task": ""}]' \
    >"$out/filters.json"
  NODE_PATH="$node_modules" node tests/browser/check_report.mjs "$out/run/report.html" "$out/page.png" \
    "$out/filters.json" >"$out/page.json"
  node - "$n" "$out" >>"$growth" <<'EOF'
const fs = require('fs');
const [n, out] = process.argv.slice(2);
const [runSeconds, runKb] = fs.readFileSync(`${out}/run.time`, 'utf8').trim().split(/\s+/).map(Number);
const [reportSeconds, reportKb] = fs.readFileSync(`${out}/report.time`, 'utf8').trim().split(/\s+/).map(Number);
const [exportSeconds, exportKb] = fs.readFileSync(`${out}/export.time`, 'utf8').trim().split(/\s+/).map(Number);
// "suite plan: R requests to score, T tokens in them, D to decode ..." (compeval run's first line)
const plan = fs.readFileSync(`${out}/run.err`, 'utf8').match(/suite plan: (\d+) requests to score, (\d+) tokens in them, (\d+) to decode/);
const size = (p) => (fs.existsSync(p) ? fs.statSync(p).size : 0);
const dirSize = (d) => (fs.existsSync(d) ? fs.readdirSync(d, { recursive: true })
  .map((f) => `${d}/${f}`).filter((p) => fs.statSync(p).isFile()).reduce((a, p) => a + size(p), 0) : 0);
const cost = JSON.parse(fs.readFileSync(`${out}/run/cost.json`, 'utf8'));
let decoded = 0;
for (const m of cost.models) for (const t of m.tasks) decoded += t.tokens_decoded ?? 0;
const page = JSON.parse(fs.readFileSync(`${out}/page.json`, 'utf8'));
const samples = fs.readFileSync(`${out}/run/samples.jsonl`, 'utf8').split('\n').filter(Boolean).length;
process.stdout.write(JSON.stringify({
  models: Number(n), requests: Number(plan[1]), samples, tokens_requested: Number(plan[2]),
  tokens_planned: Number(plan[3]), tokens_decoded: decoded,
  run_s: runSeconds, run_peak_mb: Math.round(runKb / 1024),
  export_s: exportSeconds, export_peak_mb: Math.round(exportKb / 1024),
  store_mb: +(size(`${out}/run/results.sqlite`) / 1e6).toFixed(1),
  samples_jsonl_mb: +(size(`${out}/run/samples.jsonl`) / 1e6).toFixed(1),
  report_s: reportSeconds, report_peak_mb: Math.round(reportKb / 1024),
  report_html_mb: +(size(`${out}/run/report.html`) / 1e6).toFixed(1),
  report_json_mb: +(size(`${out}/run/report.json`) / 1e6).toFixed(1),
  lm_eval_mb: +(dirSize(`${out}/run/lm-eval`) / 1e6).toFixed(1),
  page_ready: page.ready, page_errors: page.consoleErrors.length,
  interactive_ms: page.timing?.interactive_ms, filter_ms: page.timing?.filter_ms,
}) + '\n');
EOF
  tail -n 1 "$growth"
done
