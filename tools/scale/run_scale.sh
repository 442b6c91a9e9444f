#!/usr/bin/env bash
# The scale study of results/scale.md: makes the synthetic models, measures every point of POINTS (default
# tools/scale/points.txt, with paths under DIR) one after another, and writes the report.
#   tools/scale/run_scale.sh DIR [POINTS]
# Takes hours on 2 cores (the 7B points dominate); run it on an otherwise idle machine for the times to mean much.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${1:?usage: run_scale.sh DIR [POINTS]}"
POINTS="${2:-$ROOT/tools/scale/points.txt}"
"$ROOT/tools/scale/make_models.sh" "$DIR"
sed "s|\$DIR|$DIR|g" "$POINTS" > "$DIR/points.txt"
"$ROOT/tools/scale/scale_bench.sh" "$DIR/points.txt" "$DIR/run.jsonl"
COMMAND="tools/scale/run_scale.sh $DIR" python3 "$ROOT/tools/scale/scale_report.py" "$ROOT/results/scale.md" "$DIR/run.jsonl"
