#!/usr/bin/env bash
# Builds results/unstructured-smollm2.md: perplexity of SmolLM2-135M on the brown evaluation split after
# magnitude, Wanda and SparseGPT pruning at 10..80% unstructured sparsity and 2:4 / 4:8, with each run's
# prune_seconds and memory_overhead_ratio (measured by `prunelab prune`, without --eval so that the
# evaluation's buffers do not enter the memory figure), then `prunelab eval` on the saved model.
#
#   tools/results/unstructured.sh                 # the full grid, defaults below
#   NSAMPLES=8 EVAL_WINDOWS=8 tools/results/unstructured.sh
#
# Rows are appended to results/unstructured-smollm2.tsv as they finish (a rerun skips rows already
# there), and the Markdown table is rewritten after every row, so an interrupted run keeps what it has.
# Environment: PRUNELAB (command, default ./prunelab), NSAMPLES (128), SEQLEN (512), SEED (0),
# EVAL_WINDOWS (0 = all), RENDER_ONLY (1: only rewrite the Markdown), METHODS ("magnitude wanda sparsegpt"), WORK (scratch dir for the models).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
NSAMPLES="${NSAMPLES:-128}"
SEQLEN="${SEQLEN:-512}"
SEED="${SEED:-0}"
EVAL_WINDOWS="${EVAL_WINDOWS:-0}"
METHODS="${METHODS:-magnitude wanda sparsegpt}"
WORK="${WORK:-$(mktemp -d)}"
TSV="$ROOT/results/unstructured-smollm2.tsv"
MD="$ROOT/results/unstructured-smollm2.md"
mkdir -p "$ROOT/results" "$WORK"
[ -f "$TSV" ] || printf 'method\tpattern\tsparsity\tactual_sparsity\tperplexity\tprune_seconds\tmemory_overhead_ratio\tnsamples\tseqlen\teval_windows\n' > "$TSV"

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('$1'))"; }
have() { grep -q "^$1	$2	$3	" "$TSV"; }

render() {
  python3 - "$TSV" "$MD" "$NSAMPLES" "$SEQLEN" "$EVAL_WINDOWS" "$METHODS" <<'PY'
import csv, os, sys
tsv, md, nsamples, seqlen, windows, methods = sys.argv[1:]
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
grid = [("dense", "dense", "0")]
for m in methods.split():
    grid += [(m, "unstructured", f"0.{k}") for k in range(1, 9)] + [(m, "2:4", "0.5"), (m, "4:8", "0.5")]
done = {(r["method"], r["pattern"], r["sparsity"]): r for r in rows}
out = ["# Unstructured and N:M pruning of SmolLM2-135M-Instruct (brown)", "",
       "Made by `tools/results/unstructured.sh` (environment: "
       f"NSAMPLES={nsamples} SEQLEN={seqlen} EVAL_WINDOWS={windows}), which runs `prunelab prune` then "
       "`prunelab eval` on the saved model for each row.", "",
       f"- Perplexity: brown evaluation split, seqlen 512, first {windows if windows != '0' else 'all'} windows "
       "(the same windows for every row).",
       "- Calibration: brown calibration split, windows per row in the `nsamples` column, seqlen as shown, seed 0; "
       "sequential block-wise calibration (each block calibrated on the outputs of the already pruned blocks).",
       "- `memory_overhead_ratio` = (peak RSS while pruning - RSS after loading) / fp32 model bytes (538 MB), "
       "measured by `prune` without `--eval`; `prune_seconds` is the pruning loop's wall time on a shared 2-core "
       "machine (other jobs running), so compare times only roughly.",
       "- `actual_sparsity`: zero weights over all weights of the 210 pruned linears (embeddings, norms and LM head untouched).", "",
       "| method | pattern | sparsity | actual sparsity | perplexity | prune_seconds | memory_overhead_ratio | nsamples x seqlen |",
       "|---|---|---|---|---|---|---|---|"]
missing = []
for key in grid:
    r = done.get(key)
    if r is None:
        missing.append(" ".join(key if key[0] != "dense" else ("dense",)))
        continue
    calib = "-" if r["method"] in ("dense", "magnitude") else f'{r["nsamples"]} x {r["seqlen"]}'
    fmt = lambda v, f: "-" if v in ("", "None", "nan") else format(float(v), f)
    out.append(f'| {r["method"]} | {r["pattern"]} | {r["sparsity"]} | {fmt(r["actual_sparsity"], ".4f")} | '
               f'{fmt(r["perplexity"], ".2f")} | {fmt(r["prune_seconds"], ".1f")} | {fmt(r["memory_overhead_ratio"], ".4f")} | {calib} |')
out.append("")
if missing:
    out.append("Rows not run yet (the grid did not finish in the time available): " + ", ".join(missing) + ".")
else:
    out.append("All rows of the grid are present.")
# The comparison with the torch reference is kept by hand in its own file (its rows come from
# tools/reference/compare_unstructured.py) and appended here, so re-rendering the grid never loses it.
ref = os.path.join(os.path.dirname(md), "unstructured-reference.md")
if os.path.exists(ref):
    out += ["", open(ref).read().rstrip()]
open(md, "w").write("\n".join(out) + "\n")
PY
}

evaluate() { "$PRUNELAB" eval --model "$1" --dataset brown --seqlen 512 --windows "$EVAL_WINDOWS" --json | json perplexity; }

# RENDER_ONLY=1: rewrite the Markdown from the TSV without running anything.
if [ "${RENDER_ONLY:-0}" = 1 ]; then render; exit 0; fi

if ! have dense dense 0; then
  ppl=$(evaluate smollm2-135m)
  printf 'dense\tdense\t0\t0\t%s\t\t\t\t\t%s\n' "$ppl" "$EVAL_WINDOWS" >> "$TSV"
  render
fi

run() { # method pattern sparsity
  local m=$1 p=$2 s=$3 out="$WORK/$1-${2/:/of}-$3"
  have "$m" "$p" "$s" && return 0
  rm -rf "$out"
  local args=(prune --method "$m" --calib brown --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --seed "$SEED" --out "$out" --json)
  if [ "$p" = unstructured ]; then args+=(--sparsity "$s"); else args+=(--pattern "$p"); fi
  local j; j=$("$PRUNELAB" "${args[@]}")
  local ppl; ppl=$(evaluate "$out")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$p" "$s" "$(echo "$j" | json actual_sparsity)" "$ppl" \
    "$(echo "$j" | json prune_seconds)" "$(echo "$j" | json memory_overhead_ratio)" "$NSAMPLES" "$SEQLEN" "$EVAL_WINDOWS" >> "$TSV"
  rm -rf "$out"
  render
}

# Most informative rows first: 50% and N:M, then the rest of the sparsity sweep.
for m in $METHODS; do run "$m" unstructured 0.5; done
for m in $METHODS; do run "$m" 2:4 0.5; run "$m" 4:8 0.5; done
for k in 6 7 8 4 3 2 1; do for m in $METHODS; do run "$m" unstructured "0.$k"; done; done
render
