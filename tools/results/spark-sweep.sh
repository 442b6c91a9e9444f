#!/usr/bin/env bash
# Builds results/spark-sweep.md: wall time of one 6-point quick sweep on SmolLM2-135M run in-process (all cores, then
# one thread) and on Spark local[2] with one thread per task, side by side, and whether their perplexities agree bit
# for bit. A benchmark, not a test: the numbers carry whatever else the machine was doing (the load average is
# recorded before and after each run).
#
#   tools/results/spark-sweep.sh                        # under nice, as the project's benchmarks run
#
# Each run logs to the checkout's MLflow server under an experiment of its own (spark-bench-<engine>-<time>), so no
# run skips points another finished. Environment: PRUNELAB (default ./prunelab), WORK (scratch folder), RUNS (which
# runs, in order; default "in-process-2t in-process-1t spark-local2").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
WORK="${WORK:-$(mktemp -d)}"
MD="$ROOT/results/spark-sweep.md"
STAMP="$(date +%Y%m%d-%H%M%S)"
RUNS="${RUNS:-in-process-2t in-process-1t spark-local2}"
# The commit the runs are built from, taken now (a commit made while they run must not be named).
COMMIT="$(git -C "$ROOT" rev-parse --short=12 HEAD)"
DIRTY="$(git -C "$ROOT" status --porcelain --untracked-files=no | wc -l)"
mkdir -p "$ROOT/results" "$WORK"

spec() {   # $1 = experiment
  cat <<YAML
name: spark-bench
experiment: $1
model: smollm2-135m
calibration: {dataset: brown, nsamples: 16, seqlen: 256}
evaluation: {seqlen: 256, windows: 2, datasets: [brown, "udhr:swh"]}
grid:
  - method: dense
  - method: [magnitude, wanda]
    sparsity: 0.5
  - method: sparsegpt
    pattern: "2:4"
  - method: fasp
    sparsity: 0.2
  - method: shortgpt
    sparsity: 0.2
YAML
}

# Build first, so no run pays for it.
"$PRUNELAB" methods > /dev/null

runs=()
run() {   # $1 = label, rest = tradeoff options
  local label="$1"; shift
  local exp="spark-bench-$label-$STAMP"
  spec "$exp" > "$WORK/$label.yaml"
  local load_before load_after t0 t1
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  t0="$(date +%s.%N)"
  echo "== $label: ./prunelab tradeoff --spec $label.yaml --profile none $*" >&2
  "$PRUNELAB" tradeoff --spec "$WORK/$label.yaml" --profile none --out "$WORK/$label.md" --json "$@" > "$WORK/$label.json"
  t1="$(date +%s.%N)"
  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$(python3 -c "print(f'{$t1 - $t0:.1f}')")" "$load_before" "$load_after" "$*" >> "$WORK/times.tsv"
}
: > "$WORK/times.tsv"
for r in $RUNS; do
  case "$r" in
    in-process-2t) run in-process-2t --threads 2 ;;
    in-process-1t) run in-process-1t --threads 1 ;;
    spark-local2) run spark-local2 --engine spark --master 'local[2]' --conf spark.ui.enabled=false ;;
    *) echo "unknown run $r (in-process-2t, in-process-1t, spark-local2)" >&2; exit 2 ;;
  esac
done

python3 - "$WORK" "$MD" "$COMMIT" "$DIRTY" <<'PY'
import json, sys, platform, os
work, md, commit, dirty = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [l.rstrip('\n').split('\t') for l in open(os.path.join(work, 'times.tsv'))]
res = {r[0]: json.load(open(os.path.join(work, r[0] + '.json'))) for r in rows}
def ppl(label):
    return {(p['key'], e['eval_dataset']): e['perplexity'] for p in res[label]['results'] for e in p['evaluation']}
base_row = next((r for r in rows if r[0] == 'in-process-2t'), rows[0])
base = float(base_row[1])
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.machine())
out = []
out.append('# Sweeps on Spark: in-process vs Spark local[2], wall time\n')
out.append(f'Made by `tools/results/spark-sweep.sh` at commit {commit}' + (' (with uncommitted changes)' if dirty else '')
           + f' on {os.cpu_count()} CPUs ({cpu}). One 6-point quick sweep on SmolLM2-135M (dense; magnitude and Wanda 50%;'
           ' SparseGPT 2:4; FASP 20%; ShortGPT 20%), calibration 16 x 256 tokens of brown, evaluation 2 windows x 256 tokens'
           ' on brown and udhr:swh, the sweep default speed check; every point logged to MLflow with its artifacts. Each run'
           ' went to a fresh experiment, so none skipped a point. One run each, in the order below: a benchmark on a'
           ' shared machine, not a test; the load average (1/5/15 min) before and after each run says how busy it was.\n')
out.append(f'| run | command (`./prunelab tradeoff --spec S --profile none ...`) | points | wall s | vs {base_row[0]} | load before | load after |')
out.append('|---|---|---|---|---|---|---|')
for label, secs, lb, la, args in rows:
    r = res[label]
    out.append(f'| {label} | `{args}` | {r["ran"]} ran, {len(r["failures"])} failed | {float(secs):.1f} | {float(secs)/base:.2f}x | {lb} | {la} |')
def compare(x, y):
    if x not in res or y not in res:
        return None
    a, b = ppl(x), ppl(y)
    return len(a), a.keys() == b.keys() and all(a[k] == b[k] for k in a)
out.append('')
for other in ('in-process-1t', 'in-process-2t'):
    c = compare(other, 'spark-local2')
    if c is not None:
        out.append(f'Perplexities of spark-local2 (1 thread per task) and {other}, {c[0]} (point, dataset) pairs: '
                   + ('identical bit for bit.' if c[1] else 'not all identical (a different thread count changes the order of float sums).'))
out.append('')
out.append('Where the time goes: in-process runs the points one after another, each on all its threads; Spark local[2] runs two'
           ' points at once, one thread each, in one JVM, and each of its two task slots loads the model and measures the dense'
           ' baseline for itself (the in-process run does that once). Speed figures inside a point (prefill/decode tokens/s)'
           ' were measured while the other slot was busy: on Spark they are not comparable with in-process ones.')
open(md, 'w').write('\n'.join(out) + '\n')
print(open(md).read())
PY
