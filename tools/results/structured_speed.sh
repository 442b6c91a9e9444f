#!/usr/bin/env bash
# Prefill speed of pruned models against the dense one, interleaved (dense, A, B, ..., dense, A, B, ...) for ROUNDS
# rounds so that load from other jobs on a shared machine hits every model alike. Prints one TSV line per model:
# name, median over rounds of `bench forward`'s median prefill tokens/s, speedup over dense.
#
#   tools/results/structured_speed.sh DIR [DIR ...]     # ROUNDS (3), REPEAT (5), SEQLEN (512), PRUNELAB
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
ROUNDS="${ROUNDS:-3}"; REPEAT="${REPEAT:-5}"; SEQLEN="${SEQLEN:-512}"
models=(smollm2-135m "$@")
declare -A runs
for ((r = 0; r < ROUNDS; r++)); do
  for m in "${models[@]}"; do
    tps=$("$PRUNELAB" bench forward --model "$m" --seqlen "$SEQLEN" --repeat "$REPEAT" --json \
      | python3 -c "import json,sys; print(json.load(sys.stdin)['prefill_tokens_per_s'])")
    runs[$m]="${runs[$m]:-} $tps"
    echo "round $r $m $tps" >&2
  done
done
python3 - "${models[@]}" <<PY
import statistics, sys
runs = {$(for m in "${models[@]}"; do printf '"%s": [%s], ' "$m" "$(echo ${runs[$m]} | tr ' ' ',')"; done)}
dense = statistics.median(runs["smollm2-135m"])
print("model\tprefill_tokens_per_s_median\tspeedup\truns")
for m in sys.argv[1:]:
    med = statistics.median(runs[m])
    print(f"{m}\t{med:.1f}\t{med / dense:.2f}\t{' '.join(f'{x:.1f}' for x in runs[m])}")
PY
