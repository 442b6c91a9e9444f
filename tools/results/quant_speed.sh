#!/usr/bin/env bash
# Builds results/quant-speed.md: the issue-13 speed goals, each a ratio measured alternately in one run.
#   1-3. prunelab vs llama.cpp on the same GGUF file and thread count (tools/llamacpp/bench_vs_llamacpp.sh: rounds
#        alternate llama-bench and `prunelab bench`, decode at context depth 512): SmolLM2 F32 (prunelab --format
#        dense), Q8_0 and Q4_0 (prunelab --format auto: the file's blocks);
#   4.   prunelab Q8_0 prefill vs its fp32 prefill (`bench --format q8_0 --vs dense`, alternating in one process);
#   5.   packed 2:4 + int8 vs dense Q8_0 decode on a 2:4 model (`bench --format nm-q8 --vs dense --vs-format q8_0`).
# Needs llama.cpp built (tools/llamacpp/build.sh) and its reference files (tools/llamacpp/make_ref_models.sh).
#
#   tools/results/quant_speed.sh                    # ROUNDS=5 THREADS=2
# Environment: PRUNELAB (./prunelab), ROUNDS (5), THREADS (2), WORK (scratch; default a new temp dir),
# OUT (results/quant-speed.md), LLAMA_ENV (e.g. OMP_WAIT_POLICY=passive; default none: llama.cpp's defaults).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
ROUNDS="${ROUNDS:-5}"
THREADS="${THREADS:-2}"
WORK="${WORK:-$(mktemp -d)}"
OUT="${OUT:-$ROOT/results/quant-speed.md}"
HOME_DIR="${PRUNELAB_HOME:-$HOME/.cache/prunelab}"
MODELS="$HOME_DIR/llama.cpp/models"
"$ROOT/tools/llamacpp/build.sh" --print >/dev/null
"$ROOT/tools/llamacpp/make_ref_models.sh" >&2
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- core experiments || echo -dirty)"
LLAMA_ENV_ARGS=()
[ -n "${LLAMA_ENV:-}" ] && LLAMA_ENV_ARGS=(--llama-env "$LLAMA_ENV")
mkdir -p "$WORK"
{
  echo "# Quantised execution: speed against llama.cpp and against prunelab's own baselines"
  echo
  echo "Made by \`ROUNDS=$ROUNDS THREADS=$THREADS tools/results/quant_speed.sh\` at commit \`$COMMIT\`, $(date -u +%Y-%m-%dT%H:%MZ),"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores). Every ratio is a median over alternating"
  echo "rounds or pairs in one run on the same weights and thread count; absolute tokens/s move with the machine's load."
  echo
} > "$WORK/report.md"
for t in F32 Q8_0 Q4_0; do
  fmt=auto; [ "$t" = F32 ] && fmt=dense
  "$ROOT/tools/llamacpp/bench_vs_llamacpp.sh" --model "$MODELS/SmolLM2-135M-Instruct.$t.gguf" --threads "$THREADS" \
    --rounds "$ROUNDS" --prunelab-format "$fmt" "${LLAMA_ENV_ARGS[@]}" --out "$WORK/llamacpp-$t" >&2
  { echo "## SmolLM2-135M $t: prunelab (--format $fmt) vs llama.cpp"; echo; cat "$WORK/llamacpp-$t.md"; echo; } >> "$WORK/report.md"
done
"$PRUNELAB" bench --model smollm2-135m --format q8_0 --vs dense --vs-model smollm2-135m --prompt-len 512 --gen 64 \
  --repeat "$ROUNDS" --threads "$THREADS" --no-track --json > "$WORK/q8-vs-fp32.json"
[ -d "$WORK/mag24" ] || "$PRUNELAB" prune --method magnitude --pattern 2:4 --out "$WORK/mag24" --no-track >&2
"$PRUNELAB" bench --model "$WORK/mag24" --format nm-q8 --vs dense --vs-format q8_0 --prompt-len 512 --gen 64 \
  --repeat "$ROUNDS" --threads "$THREADS" --no-track --json > "$WORK/nmq8-vs-q8.json"
python3 - "$WORK" >> "$WORK/report.md" <<'PY'
import json, sys
w = sys.argv[1]
a = json.load(open(f"{w}/q8-vs-fp32.json"))
b = json.load(open(f"{w}/nmq8-vs-q8.json"))
def row(label, j):
    v = j["vs"]
    return (f"| {label} | {j['format']} {json.dumps(j['format_counts'])} | {v['format']} | "
            f"{j['prefill_tokens_per_s']:.1f} / {v['prefill_tokens_per_s']:.1f} | {j['decode_tokens_per_s']:.1f} / "
            f"{v['decode_tokens_per_s']:.1f} | {j['speedup_prefill']:.2f}x ({j['speedup_prefill_min']:.2f}-{j['speedup_prefill_max']:.2f}) | "
            f"{j['speedup_decode']:.2f}x ({j['speedup_decode_min']:.2f}-{j['speedup_decode_max']:.2f}) | "
            f"{j['model_bytes'] / 1e6:.1f} / {v['model_bytes'] / 1e6:.1f} |")
print("## prunelab against its own baselines (`prunelab bench --vs dense`, alternating pairs, 512-token prompt, 64 decoded)")
print()
print("| comparison | format | baseline format | prefill tok/s (this / baseline) | decode tok/s | prefill ratio (min-max) | decode ratio (min-max) | MB in memory |")
print("|---|---|---|---|---|---|---|---|")
print(row("SmolLM2 Q8_0 vs fp32", a))
print(row("magnitude 2:4: packed 2:4 + int8 vs dense Q8_0", b))
print()
print(f"Load average after: {open('/proc/loadavg').read().split()[:3]}. Raw JSON: `{w}`.")
PY
cp "$WORK/report.md" "$OUT"
echo "wrote $OUT (raw files in $WORK)" >&2
