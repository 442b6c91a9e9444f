#!/usr/bin/env bash
# Measures streamed pruning at scale (issue 14): for each point, `prunelab prune --streaming` on a synthetic model
# (tools/scale/make_models.sh) or a registered one, under /usr/bin/time -v, and records the whole process's peak RSS
# (the kernel's maxrss), the run's own peak (VmHWM reset before pruning), prune seconds and seconds per block.
# Random weights are for memory and time only: perplexities of synthetic models are never reported.
#
#   tools/scale/scale_bench.sh POINTS_FILE OUT.jsonl
# POINTS_FILE: one point per line, "model method nsamples seqlen [extra prune flags...]", e.g.
#   /work/scale/llama2-7b.q4_0.gguf wanda 4 128 --sparsity 0.5
# Environment: PRUNELAB (the launcher; default this checkout's), SCRATCH (folder for the pruned output, deleted after
# each point; default a temp dir on the same disk as OUT).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
POINTS="$1"; OUT="$2"
command -v /usr/bin/time >/dev/null || { echo "scale_bench: needs GNU time (apt-get install time)" >&2; exit 1; }
SCRATCH="${SCRATCH:-$(mktemp -d "$(dirname "$(realpath "$OUT")")/scale-scratch-XXXX")}"
mkdir -p "$SCRATCH"
COMMIT="${COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- core experiments 2>/dev/null || echo -dirty)}"
while read -r model method nsamples seqlen extra; do
  [ -z "${model:-}" ] && continue
  case "$model" in \#*) continue ;; esac
  out="$SCRATCH/out"; rm -rf "$out"
  load_before="$(cut -d' ' -f1 /proc/loadavg)"
  # shellcheck disable=SC2086
  if /usr/bin/time -v -o "$SCRATCH/time.txt" "$PRUNELAB" prune --model "$model" --method "$method" --nsamples "$nsamples" \
      --seqlen "$seqlen" --streaming --no-track --json --out "$out" $extra > "$SCRATCH/run.json" 2> "$SCRATCH/run.err"; then
    status=ok
  else
    status=failed; tail -5 "$SCRATCH/run.err" >&2
  fi
  maxrss_kb="$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$SCRATCH/time.txt")"
  wall="$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$SCRATCH/time.txt")"
  python3 - "$SCRATCH/run.json" "$model" "$method" "$nsamples" "$seqlen" "$extra" "$maxrss_kb" "$wall" "$load_before" \
      "$(cut -d' ' -f1 /proc/loadavg)" "$status" "$COMMIT" >> "$OUT" <<'PY'
import json, sys
path, model, method, nsamples, seqlen, extra, maxrss, wall, lb, la, status, commit = sys.argv[1:]
try:
    j = json.load(open(path))
except Exception:
    j = {}
print(json.dumps({"model": model, "method": method, "nsamples": int(nsamples), "seqlen": int(seqlen), "extra": extra,
                  "status": status, "maxrss_bytes": int(maxrss or 0) * 1024, "wall": wall,
                  "prune_seconds": j.get("prune_seconds"), "peak_rss_bytes": j.get("peak_rss_bytes"),
                  "actual_sparsity": j.get("actual_sparsity"), "load_before": float(lb), "load_after": float(la),
                  "commit": commit}))
PY
  echo "scale_bench: $model $method $nsamples x $seqlen: $status, maxrss $((maxrss_kb / 1024)) MB, wall $wall" >&2
  rm -rf "$out"
done < "$POINTS"
rm -rf "$SCRATCH"
