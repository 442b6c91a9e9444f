#!/usr/bin/env bash
# Builds results/hybrid-smollm2.md: prune + quantise on SmolLM2-135M (the seed's "hybrid").
#   For each point (fp32; Q8_0; Q4_0; Wanda 50% + Q8_0 / Q4_0 (RTN and GPTQ); SparseGPT 2:4 + Q8_0; FASP 25% + Q8_0):
#   1. `prunelab quantize` (no pruning) or `prunelab prune --quantize TYPE`: the model is pruned in fp32, quantised
#      (round to nearest as llama-quantize, or GPTQ), evaluated on Brown and six UDHR languages in its quantised
#      execution format, and saved as GGUF (DIR/model.gguf): the bytes on disk;
#   2. `prunelab bench --model DIR/model.gguf --format F --vs dense --vs-model smollm2-135m`: prefill and decode
#      tokens/s of the quantised model and of the fp32 dense model, alternating in one process (median of per-pair
#      ratios), and the bytes in memory of each;
#   3. tools/results/hybrid_report.py renders the table (compression vs fp16 = 2 bytes x parameters / file bytes).
#
#   tools/results/hybrid.sh                                   # defaults below
#   NSAMPLES=16 SEQLEN=256 WINDOWS=2 REPEAT=3 tools/results/hybrid.sh     # the quick profile
#
# Environment: PRUNELAB (default ./prunelab), NSAMPLES (128), SEQLEN (512: calibration and evaluation windows),
# WINDOWS (0 = every evaluation window), PROMPT_LEN (512), GEN (64), REPEAT (5), THREADS (all cores),
# WORK (scratch dir for the models and raw JSON; default a new temp dir), OUT (default results/hybrid-smollm2.md),
# NO_TRACK=1 (skip MLflow; every run is tracked by default).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
NSAMPLES="${NSAMPLES:-128}"
SEQLEN="${SEQLEN:-512}"
WINDOWS="${WINDOWS:-0}"
PROMPT_LEN="${PROMPT_LEN:-512}"
GEN="${GEN:-64}"
REPEAT="${REPEAT:-5}"
WORK="${WORK:-$(mktemp -d)}"
OUT="${OUT:-$ROOT/results/hybrid-smollm2.md}"
MODEL=smollm2-135m
THREADS_ARG=()
[ -n "${THREADS:-}" ] && THREADS_ARG=(--threads "$THREADS")
[ -n "${NO_TRACK:-}" ] && THREADS_ARG+=(--no-track)
EVAL=()
for d in brown udhr:eng udhr:swh udhr:yor udhr:hau_NG udhr:deu_1996 udhr:fra; do EVAL+=(--eval "$d"); done
mkdir -p "$WORK" "$(dirname "$OUT")"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- core experiments || echo -dirty)"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
START="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

# point NAME FORMAT COMMAND...: runs the command (unless NAME.json exists: re-running resumes), then the bench.
point() {
  local name="$1" format="$2"; shift 2
  local dir="$WORK/$name"
  if [ ! -s "$WORK/$name.json" ]; then
    rm -rf "$dir"
    "$PRUNELAB" "$@" --out "$dir" "${EVAL[@]}" --eval-seqlen "$SEQLEN" --eval-windows "$WINDOWS" \
      "${THREADS_ARG[@]}" --json > "$WORK/$name.json.tmp"
    mv "$WORK/$name.json.tmp" "$WORK/$name.json"
  fi
  if [ ! -s "$WORK/$name.bench.json" ]; then
    "$PRUNELAB" bench --model "$dir/model.gguf" --format "$format" --vs dense --vs-model "$MODEL" \
      --prompt-len "$PROMPT_LEN" --gen "$GEN" --repeat "$REPEAT" "${THREADS_ARG[@]}" --json > "$WORK/$name.bench.json.tmp"
    mv "$WORK/$name.bench.json.tmp" "$WORK/$name.bench.json"
  fi
  echo "$name" >> "$WORK/points.txt.tmp"
}
CALIB=(--calib brown --nsamples "$NSAMPLES" --seqlen "$SEQLEN")
: > "$WORK/points.txt.tmp"
point fp32-f32          dense   quantize --model "$MODEL" --type f32
point q8_0              q8_0    quantize --model "$MODEL" --type q8_0
point q4_0              q4_0    quantize --model "$MODEL" --type q4_0
point wanda50-q8_0      q8_0    prune --model "$MODEL" --method wanda --sparsity 0.5 "${CALIB[@]}" --quantize q8_0
point wanda50-q4_0      q4_0    prune --model "$MODEL" --method wanda --sparsity 0.5 "${CALIB[@]}" --quantize q4_0
point wanda50-q4_0-gptq q4_0    prune --model "$MODEL" --method wanda --sparsity 0.5 "${CALIB[@]}" --quantize q4_0 --quant-method gptq
point sparsegpt24-q8_0  auto    prune --model "$MODEL" --method sparsegpt --pattern 2:4 "${CALIB[@]}" --quantize q8_0
point fasp25-q8_0       q8_0    prune --model "$MODEL" --method fasp --sparsity 0.25 "${CALIB[@]}" --quantize q8_0
mv "$WORK/points.txt.tmp" "$WORK/points.txt"

python3 "$ROOT/tools/results/hybrid_report.py" --work "$WORK" --out "$OUT" --commit "$COMMIT" --start "$START" \
  --load-before "$LOAD_BEFORE" --load-after "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --command "NSAMPLES=$NSAMPLES SEQLEN=$SEQLEN WINDOWS=$WINDOWS PROMPT_LEN=$PROMPT_LEN GEN=$GEN REPEAT=$REPEAT${NO_TRACK:+ NO_TRACK=1} tools/results/hybrid.sh"
echo "wrote $OUT (raw JSON in $WORK)"
