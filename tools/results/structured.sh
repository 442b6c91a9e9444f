#!/usr/bin/env bash
# Builds results/structured-smollm2.md: SmolLM2-135M-Instruct after structured pruning that physically shrinks
# it (FASP with and without least-squares restoration, FLAP, ShortGPT), against the dense model, in one run:
# perplexity on the brown evaluation split, parameters, file size, prune_seconds, memory_overhead_ratio and
# prefill speed (`prunelab bench forward`, median of REPEAT passes over SEQLEN tokens) relative to dense.
#
#   tools/results/structured.sh                       # defaults below
#   NSAMPLES=8 EVAL_WINDOWS=4 ROWS="fasp:0.25" tools/results/structured.sh
#
# Each row runs `prunelab prune` (without --eval, so evaluation buffers stay out of the memory figure), then
# `prunelab eval` and `prunelab bench forward` on the saved directory. Rows are appended to
# results/structured-smollm2.tsv (a rerun skips rows already there) and the Markdown is rewritten at the end.
# Environment: PRUNELAB (default ./prunelab), NSAMPLES (32), SEQLEN (512), EVAL_WINDOWS (32), REPEAT (3),
# ROWS (method:argument pairs; argument = sparsity, layers for shortgpt, rank ratio for lowrank / lowrank-aw
# (activation-weighted); fasp-norestore = fasp --no-restore),
# WORK (scratch directory for the models).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
NSAMPLES="${NSAMPLES:-32}"
SEQLEN="${SEQLEN:-512}"
EVAL_WINDOWS="${EVAL_WINDOWS:-32}"
REPEAT="${REPEAT:-3}"
ROWS="${ROWS:-dense:0 fasp:0.25 fasp-norestore:0.25 fasp:0.5 fasp-norestore:0.5 flap:0.5 shortgpt:8 shortgpt:15}"
WORK="${WORK:-$(mktemp -d)}"
TSV="$ROOT/results/structured-smollm2.tsv"
MD="$ROOT/results/structured-smollm2.md"
mkdir -p "$ROOT/results" "$WORK"
[ -f "$TSV" ] || printf 'method\targ\tallocation\tactual_sparsity\tperplexity\tparams_total\tfile_bytes\tprune_seconds\tmemory_overhead_ratio\tprefill_tokens_per_s\tlayer_sizes\tnsamples\tseqlen\teval_windows\n' > "$TSV"

field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); v=d.get(sys.argv[2]); print('-' if v is None else v)" "$1" "$2"; }

for row in $ROWS; do
  method="${row%%:*}"; arg="${row#*:}"
  if grep -q "^$method	$arg	" "$TSV"; then echo "have $row" >&2; continue; fi
  echo "== $row" >&2
  if [ "$method" = dense ]; then
    model=smollm2-135m; alloc=-; actual=0; pruneSeconds=-; overhead=-; sizes=-
    params=-; fileBytes=-  # filled in from a pruned row's params_total_dense (the registered model is a Q4_1 GGUF)
  else
    out="$WORK/$method-$arg"; rm -rf "$out"
    case "$method" in
      fasp) extra=(--method fasp --sparsity "$arg") ;;
      fasp-norestore) extra=(--method fasp --no-restore --sparsity "$arg") ;;
      flap) extra=(--method flap --sparsity "$arg") ;;
      shortgpt) extra=(--method shortgpt --layers "$arg") ;;
      lowrank) extra=(--method lowrank --rank-ratio "$arg") ;;
      lowrank-aw) extra=(--method lowrank --activation-weighted --rank-ratio "$arg") ;;
      *) echo "unknown method $method" >&2; exit 2 ;;
    esac
    "$PRUNELAB" prune "${extra[@]}" --calib brown --nsamples "$NSAMPLES" --seqlen "$SEQLEN" --seed 0 --out "$out" --json > "$WORK/$method-$arg.json"
    r="$out/prune_report.json"
    field "$r" params_total_dense > "$WORK/params_dense"
    model="$out"; alloc=$(field "$r" allocation); actual=$(field "$r" actual_sparsity)
    pruneSeconds=$(field "$r" prune_seconds); overhead=$(field "$r" memory_overhead_ratio); params=$(field "$r" params_total)
    fileBytes=$(stat -c %s "$out/model.safetensors")
    sizes=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s={(x['intermediate_size'],x['num_attention_heads'],x['num_key_value_heads']) for x in d['layer_sizes']}; print(f\"{len(d['layer_sizes'])} blocks, \" + ('uniform ' + '/'.join(map(str, s.pop())) if len(s)==1 else 'non-uniform'))" "$r")
  fi
  "$PRUNELAB" eval --model "$model" --dataset brown --seqlen 512 --windows "$EVAL_WINDOWS" --json > "$WORK/eval.json"
  "$PRUNELAB" bench forward --model "$model" --seqlen 512 --repeat "$REPEAT" --json > "$WORK/bench.json"
  ppl=$(field "$WORK/eval.json" perplexity); tps=$(field "$WORK/bench.json" prefill_tokens_per_s)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$method" "$arg" "$alloc" "$actual" "$ppl" "$params" \
    "$fileBytes" "$pruneSeconds" "$overhead" "$tps" "$sizes" "$NSAMPLES" "$SEQLEN" "$EVAL_WINDOWS" >> "$TSV"
done

python3 - "$TSV" "$MD" "$NSAMPLES" "$SEQLEN" "$EVAL_WINDOWS" "$REPEAT" "$(cat "$WORK/params_dense" 2>/dev/null || echo -)" <<'PY'
import csv, sys
tsv, md, nsamples, seqlen, windows, repeat, params_dense = sys.argv[1:]
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
for r in rows:
    if r["method"] == "dense" and r["params_total"] == "-" and params_dense != "-":
        r["params_total"], r["file_bytes"] = params_dense, str(4 * int(params_dense))  # fp32, as a prunelab export of it
dense = next((r for r in rows if r["method"] == "dense"), None)
out = ["# Structured pruning of SmolLM2-135M-Instruct (brown)", "",
       f"Made by `tools/results/structured.sh` (NSAMPLES={nsamples} SEQLEN={seqlen} EVAL_WINDOWS={windows} REPEAT={repeat}): "
       "`prunelab prune` (no `--eval`), then `prunelab eval` and `prunelab bench forward` on the saved directory, all rows in one run.", "",
       f"- Perplexity: brown evaluation split, seqlen 512, the first {windows} windows only (the same windows for every row).",
       f"- Calibration: brown calibration split, {nsamples} windows x {seqlen} tokens, seed 0, sequential block by block "
       "(fewer than the reference 128 windows, to fit the time on a shared machine).",
       "- `removed` is the share of the decoder blocks' linear parameters removed (embeddings, norms and LM head untouched; "
       "FLAP's added biases count as parameters); `params` counts the whole model (tied embeddings once); file = model.safetensors (fp32).",
       "- `memory_overhead_ratio` = (peak RSS while pruning - RSS after loading) / dense fp32 model bytes.",
       f"- Prefill: median of {repeat} passes over 512 tokens (`bench forward`), speedup = tokens/s over the dense row of the same run. "
       "The machine has 2 cores shared with other jobs, so times and speedups are rough.",
       "- Shape: intermediate_size / num_attention_heads / num_key_value_heads per block. Uniform rows are standard Hugging Face "
       "checkpoints (transformers loads them); non-uniform rows (FLAP's global ranking) list per-block sizes under `prunelab_layer_sizes`.", "",
       "| method | argument | allocation | removed | perplexity | params | file MB | prune_seconds | memory_overhead_ratio | prefill tok/s | speedup | shape |",
       "|---|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    tps = float(r["prefill_tokens_per_s"])
    speed = f'{tps / float(dense["prefill_tokens_per_s"]):.2f}x' if dense else "-"
    fmt = lambda v, f: v if v in ("-", "None", "") else format(float(v), f)
    out.append(f'| {r["method"]} | {r["arg"]} | {r["allocation"]} | {fmt(r["actual_sparsity"], ".3f")} | {fmt(r["perplexity"], ".2f")} | '
               f'{fmt(r["params_total"], ",.0f")} | {fmt(r["file_bytes"], ".0f") if r["file_bytes"] in ("-",) else format(int(r["file_bytes"]) / 1e6, ".0f")} | {fmt(r["prune_seconds"], ".0f")} | '
               f'{fmt(r["memory_overhead_ratio"], ".2f")} | {tps:.0f} | {speed} | {r["layer_sizes"]} |')
open(md, "w").write("\n".join(out) + "\n")
print(f"wrote {md}", file=sys.stderr)
PY
