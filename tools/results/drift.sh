#!/usr/bin/env bash
# Results that stay true: re-runs one cheap point of each committed perplexity table in results/ with the
# settings that table names, and prints the committed value beside today's and the relative drift.
#
#   tools/results/drift.sh                         # every check, a text table on stdout
#   tools/results/drift.sh --json                  # the same as JSON on stdout
#   tools/results/drift.sh --md results/drift.md   # also write the Markdown report (names commit and command)
#   tools/results/drift.sh --only tradeoff         # checks whose name contains "tradeoff"
#   TOLERANCE=0.005 tools/results/drift.sh         # relative drift allowed (default 0.01 = 1%)
#   WORK=DIR tools/results/drift.sh --reuse        # reuse the points already run into DIR (each names its commit)
#
# Exit status: 0 when every drift is within the tolerance, 1 when one is above it, 2 when a point failed to run.
# The committed value is read from the committed file at run time (not copied here), so a regenerated table is
# checked as it now stands. Tables of speed, memory or fuzzing counts are listed as not re-run, with the reason:
# they measure the machine as much as the code.
# Environment: PRUNELAB (default ./prunelab), THREADS (default: all cores), WORK (scratch, default a temp dir),
# TOLERANCE (0.01).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
TOLERANCE="${TOLERANCE:-0.01}"
WORK="${WORK:-$(mktemp -d)}"
JSON=0; MD=""; ONLY=""; REUSE=0
INVOCATION="tools/results/drift.sh${*:+ $*}"
[ "${TOLERANCE}" != 0.01 ] && INVOCATION="TOLERANCE=$TOLERANCE $INVOCATION"
while [ $# -gt 0 ]; do
  case "$1" in
    --json) JSON=1 ;;
    --md) MD="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    --tolerance) TOLERANCE="$2"; shift ;;
    --reuse) REUSE=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "drift.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
THREADS_ARG=(); [ -n "${THREADS:-}" ] && THREADS_ARG=(--threads "$THREADS")
[ "$REUSE" = 1 ] && INVOCATION="WORK=$WORK $INVOCATION"
mkdir -p "$WORK"
cd "$ROOT"

# --- the points: NAME then the prunelab arguments (each run once; several checks read one run's JSON) -------------
declare -A RUN
# tradeoff.md: the calibration and brown's evaluation windows as its header states them ("Calibration: 16 x 256 tokens
# of brown, seed 0", "Evaluation: brown (2 x 256)"; brown's windows do not depend on the other sets the sweep
# evaluates), so a table regenerated with other settings is checked with its own. SparseGPT 50%: the point the issue saw drift.
TRADEOFF_ARGS="$(python3 - results/tradeoff.md <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
c = re.search(r"Calibration: (\d+) x (\d+) tokens of (\S+), seeds? (\d+)", text)
e = re.search(r"Evaluation: brown \((\d+|all) x (\d+)\)", text)
if not c or not e: sys.exit("results/tradeoff.md: no 'Calibration: N x S tokens of D, seed K' or 'Evaluation: brown (W x S)' in its header")
print(f"--calib {c.group(3)} --nsamples {c.group(1)} --seqlen {c.group(2)} --seed {c.group(4)} --eval brown"
      f" --eval-seqlen {e.group(2)} --eval-windows {0 if e.group(1) == 'all' else e.group(1)}")
PY
)"
RUN[tradeoff-sparsegpt50]="prune --model smollm2-135m --method sparsegpt --sparsity 0.5 $TRADEOFF_ARGS"
# unstructured-smollm2.{md,tsv}: evaluation 64 x 512 (magnitude reads no calibration).
RUN[unstructured-magnitude50]="prune --model smollm2-135m --method magnitude --sparsity 0.5 --eval brown --eval-seqlen 512 --eval-windows 64"
# unstructured-reference.md, structured-smollm2 dense row, gguf-llamacpp.md prunelab column: evaluation 16 x 512.
RUN[reference-magnitude50]="prune --model smollm2-135m --method magnitude --sparsity 0.5 --eval brown --eval-seqlen 512 --eval-windows 16"
# structured-smollm2.{md,tsv}: FASP 25% (restoration on), calibration 16 x 512 of brown, seed 0, evaluation 16 x 512.
RUN[structured-fasp25]="prune --model smollm2-135m --method fasp --sparsity 0.25 --calib brown --nsamples 16 --seqlen 512 --seed 0 --eval brown --eval-seqlen 512 --eval-windows 16"
# hybrid-smollm2.md: round to nearest Q8_0, no pruning; evaluation 4 x 256 (NSAMPLES=32 SEQLEN=256 WINDOWS=4).
RUN[hybrid-q8]="quantize --model smollm2-135m --type q8_0 --eval brown --eval-seqlen 256 --eval-windows 4"

# --- the checks: name | run | JSON field of the brown evaluation | committed file | how to find the value ----------
# Finders: md SECTION ROW COLUMN (Markdown table: the first row after the heading line matching SECTION whose first
# cells are ROW, "a | b | c"; COLUMN is a header name or a 1-based cell index) or tsv ROW COLUMN.
CHECKS=(
  "tradeoff: smollm2 dense brown|tradeoff-sparsegpt50|perplexity_dense|results/tradeoff.md|md|^## Model smollm2-135m|dense | dense | 0.00|ppl brown"
  "tradeoff: smollm2 sparsegpt 50% brown|tradeoff-sparsegpt50|perplexity|results/tradeoff.md|md|^## Model smollm2-135m|sparsegpt | unstructured | 0.50|ppl brown"
  "unstructured-smollm2: dense|unstructured-magnitude50|perplexity_dense|results/unstructured-smollm2.tsv|tsv|dense	dense	0	|perplexity"
  "unstructured-smollm2: magnitude 50%|unstructured-magnitude50|perplexity|results/unstructured-smollm2.tsv|tsv|magnitude	unstructured	0.5	|perplexity"
  "unstructured-reference: magnitude 50% (prunelab ppl)|reference-magnitude50|perplexity|results/unstructured-reference.md|md|^## Agreement|magnitude | unstructured 0.5|prunelab ppl"
  "structured-smollm2: dense|reference-magnitude50|perplexity_dense|results/structured-smollm2.tsv|tsv|dense	0	|perplexity"
  "structured-smollm2: fasp 25%|structured-fasp25|perplexity|results/structured-smollm2.tsv|tsv|fasp	0.25	uniform	|perplexity"
  "gguf-llamacpp: smollm2 dense f32, prunelab protocol|reference-magnitude50|perplexity_dense|results/gguf-llamacpp.md|md|^## SmolLM2-135M-Instruct|dense | f32|prunelab protocol, same weights"
  "hybrid-smollm2: fp32 dense brown|hybrid-q8|perplexity_dense|results/hybrid-smollm2.md|md|^## Perplexity per language|fp32 (dense)|brown"
  "hybrid-smollm2: Q8_0 brown|hybrid-q8|perplexity|results/hybrid-smollm2.md|md|^## Perplexity per language|Q8_0|brown"
)
# Tables not re-run, and why.
SKIPPED=(
  "results/speed-smollm2.md|tokens/s and speedups: they measure the machine's load as much as the code"
  "results/quant-speed.md|tokens/s against llama.cpp: machine load"
  "results/prefill-vs-torch.md|tokens/s against torch (needs the torch venv): machine load"
  "results/sparse-kernel-bench.md|kernel microbenchmark times: machine load"
  "results/sparse-quant-bench.md|kernel microbenchmark times: machine load"
  "results/spark-sweep.md|wall time of a sweep: machine load"
  "results/scale.md|peak memory of 1B-7B streaming runs: hours and 24 GiB per point"
  "results/fuzz.md, results/fuzz-runs.tsv|execution counts of a fuzzing campaign: no point to re-run"
  "results/tradeoff-*.png|drawn from results/tradeoff.md's runs (checked above)"
)

# md FILE SECTION ROW COLUMN / tsv FILE ROW COLUMN: prints the committed number (the first number in the cell).
committed() {
  python3 - "$@" <<'PY'
import re, sys
kind, path = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8").read().splitlines()
def number(cell):
    # a point run with several seeds: "mean (3 seeds: lo-hi; seed 0: value [lo, hi])": the single run, which a re-run repeats
    single = re.search(r"; seed \d+: (.*)$", cell)
    if single: cell = single.group(1)
    m = re.search(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", cell)
    if not m: sys.exit(f"no number in cell {cell!r} of {path}")
    print(m.group(0))
if kind == "tsv":
    row, col = sys.argv[3], sys.argv[4]
    header = lines[0].split("\t")
    for l in lines[1:]:
        if l.startswith(row):
            number(l.split("\t")[header.index(col)]); sys.exit(0)
    sys.exit(f"no row starting {row!r} in {path}")
section, row, col = sys.argv[3], sys.argv[4], sys.argv[5]
want = [c.strip() for c in row.split("|")]
inside, header = False, None
for l in lines:
    if re.search(section, l): inside = True; continue
    if not inside or not l.startswith("|"): continue
    cells = [c.strip() for c in l.strip().strip("|").split("|")]
    if header is None or cells[0] in ("method", "model", "variant"): header = cells
    if cells[:len(want)] == want:
        i = int(col) - 1 if col.isdigit() else header.index(col)
        number(cells[i]); sys.exit(0)
sys.exit(f"no row {row!r} after /{section}/ in {path}")
PY
}

# The brown evaluation's FIELD from a run's JSON (top-level headline, or its evaluation list).
measured() {
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for e in d.get("evaluation", []):
    if e.get("eval_dataset") == "brown": print(repr(float(e[sys.argv[2]]))); sys.exit(0)
print(repr(float(d[sys.argv[2]])))
PY
}

COMMIT="$(git rev-parse --short=12 HEAD)"
DIRTY="$([ -n "$(git status --porcelain --untracked-files=no)" ] && echo " (with uncommitted changes)" || true)"
STARTED="$(date -u +%Y-%m-%dT%H:%MZ)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A SECONDS_OF STATUS_OF
status=0
ROWS="$WORK/rows.tsv"; : > "$ROWS"
for check in "${CHECKS[@]}"; do
  IFS='|' read -r name run field file kind rest <<< "$check"
  [ -n "$ONLY" ] && [[ "$name" != *"$ONLY"* ]] && continue
  if [ -z "${STATUS_OF[$run]:-}" ] && [ "$REUSE" = 1 ] && [ -s "$WORK/$run.json" ] && [ -s "$WORK/$run.commit" ]; then
    echo "drift: $run: reusing $WORK/$run.json (run at $(cat "$WORK/$run.commit"))" >&2
    STATUS_OF[$run]=ok; SECONDS_OF[$run]="$(cat "$WORK/$run.seconds")"
  fi
  if [ -z "${STATUS_OF[$run]:-}" ]; then
    echo "drift: $run: ./prunelab ${RUN[$run]}" >&2
    rm -rf "$WORK/$run"
    t0=$(date +%s.%N); load0="$(cut -d' ' -f1-3 /proc/loadavg)"
    # shellcheck disable=SC2086 # RUN holds a word list
    if "$PRUNELAB" ${RUN[$run]} --out "$WORK/$run" --no-track "${THREADS_ARG[@]}" --json > "$WORK/$run.json" 2> "$WORK/$run.log"; then
      STATUS_OF[$run]=ok
    else
      STATUS_OF[$run]=failed; tail -5 "$WORK/$run.log" >&2
    fi
    SECONDS_OF[$run]=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.0f}')")
    echo "${SECONDS_OF[$run]}" > "$WORK/$run.seconds"
    echo "$COMMIT$DIRTY" > "$WORK/$run.commit"
    echo "$load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after" > "$WORK/$run.load"
    rm -rf "$WORK/$run"
  fi
  IFS='|' read -r -a finder <<< "$rest"
  if [ "$kind" = md ]; then
    # md rows hold " | " inside the ROW part: rejoin everything between SECTION and the last field
    section="${finder[0]}"; column="${finder[-1]}"; row="$(IFS='|'; echo "${finder[*]:1:${#finder[@]}-2}")"
    was="$(committed md "$file" "$section" "$row" "$column")"
  else
    was="$(committed tsv "$file" "${finder[0]}" "${finder[1]}")"
  fi
  if [ "${STATUS_OF[$run]}" = ok ]; then
    now="$(measured "$WORK/$run.json" "$field")"
    read -r drift verdict <<< "$(python3 -c "
was, now, tol = float('$was'), float('$now'), float('$TOLERANCE')
digits = len('$was'.split('.')[1]) if '.' in '$was' else 0
d = (now - was) / was
# 'same' when today's value rounds to the committed one at the committed precision
same = round(now, digits) == round(was, digits)
print(f'{d:.3e}', 'same' if same else ('ok' if abs(d) <= tol else 'DRIFT'))")"
    [ "$verdict" = DRIFT ] && [ $status -eq 0 ] && status=1
  else
    now="nan"; drift="nan"; verdict="FAILED"; status=2
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$file" "$was" "$now" "$drift" "$verdict" "$run" "${SECONDS_OF[$run]}" \
    "$(git log -1 --format=%h -G'[0-9]\.[0-9]' -- "$file")" "$(cat "$WORK/$run.commit" 2>/dev/null || echo "$COMMIT$DIRTY")" \
    "$(cat "$WORK/$run.load" 2>/dev/null || echo unknown)" >> "$ROWS"
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$ROWS" "$JSON" "$MD" "$TOLERANCE" "$COMMIT$DIRTY" "$STARTED" "$LOAD_BEFORE" "$LOAD_AFTER" "$status" \
    "$(for r in "${!RUN[@]}"; do printf '%s=./prunelab %s\n' "$r" "${RUN[$r]}"; done)" \
    "$(printf '%s\n' "${SKIPPED[@]}")" "$INVOCATION" <<'PY'
import json, os, sys
rows_file, as_json, md, tol, commit, started, load0, load1, status, runs, skipped, invocation = sys.argv[1:]
rows = [dict(zip(["check", "file", "committed", "now", "relative_drift", "verdict", "run", "run_seconds", "file_commit", "run_commit", "run_load"], l.split("\t")))
        for l in open(rows_file).read().splitlines()]
runs = dict(l.split("=", 1) for l in runs.splitlines() if l)
skipped = [l.split("|", 1) for l in skipped.splitlines() if l]
def pct(x):
    return "n/a" if x == "nan" else f"{100 * float(x):+.2g}%"
def num(x):
    return "n/a" if x == "nan" else f"{float(x):.10g}"
if as_json == "1":
    print(json.dumps({"command": invocation, "commit": commit, "started": started, "tolerance": float(tol), "exit_status": int(status),
                      "checks": [dict(r, committed=float(r["committed"]), now=float(r["now"]),
                                      relative_drift=float(r["relative_drift"]), command=runs[r["run"]]) for r in rows],
                      "not_rerun": [{"file": f, "why": w} for f, w in skipped]}, indent=2))
else:
    w = max([len(r["check"]) for r in rows] + [5])
    print(f"{'check':<{w}}  {'committed':>12}  {'now':>14}  {'drift':>9}  verdict")
    for r in rows:
        now = num(r["now"])
        print(f"{r['check']:<{w}}  {r['committed']:>12}  {now:>14}  {pct(r['relative_drift']):>9}  {r['verdict']}")
    print(f"tolerance {100 * float(tol):g}%; exit status {status}")
if md:
    out = ["# Drift: committed results re-run today", "",
           f"Made by `{invocation}` at commit `{commit}`, started {started}, tolerance "
           f"{100 * float(tol):g}% relative. Each check re-runs one cheap "
           "point of a committed table with the settings that table names (below) and compares the brown perplexity with "
           "the value the committed file holds (in brackets, the last commit that changed a number in it). `same`: equal at the committed precision; "
           "`ok`: within the tolerance; `DRIFT`: beyond it (exit status 1).", "",
           "| check | committed file (last commit) | committed | now | relative drift | verdict |", "|---|---|---|---|---|---|"]
    for r in rows:
        now = num(r["now"])
        out.append(f"| {r['check']} | `{r['file']}` ({r['file_commit']}) | {r['committed']} | {now} | {pct(r['relative_drift'])} | {r['verdict']} |")
    out += ["", "Points run (each once, `--no-track`; wall seconds including the build check and model load; the commit the"
            " point ran at; load average (1/5/15 min) of the machine before and after it):", ""]
    secs = {r["run"]: r["run_seconds"] for r in rows}
    at = {r["run"]: r["run_commit"] for r in rows}
    load = {r["run"]: r["run_load"] for r in rows}
    for name in dict.fromkeys(r["run"] for r in rows):
        out.append(f"- `{name}` ({secs[name]} s, at `{at[name]}`, load {load[name]}): `{runs[name]} --out DIR --no-track --json`")
    out += ["", "Not re-run:", ""] + [f"- `{f}`: {w}" for f, w in skipped] + [""]
    tmp = md + ".tmp"
    open(tmp, "w").write("\n".join(out) + "\n")
    os.replace(tmp, md)
PY
exit $status
