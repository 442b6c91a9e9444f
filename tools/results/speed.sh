#!/usr/bin/env bash
# Builds results/speed-smollm2.md: what the sparse weight formats buy on SmolLM2-135M.
#   1. prunes SmolLM2-135M with magnitude (no calibration: seconds) to 2:4 and to 70% unstructured;
#   2. `prunelab bench --vs dense` on each (2:4 as --format nm, 70% as --format csr): the pruned model and the
#      dense model it came from run in one process, alternating, and the speedups are per-pair ratios;
#   3. a short JMH run (module jmh/): every format on SmolLM2's linear shapes at 50/70/90% and 2:4, decode
#      (1 token) and prefill block (64 tokens), next to a STREAM-like copy/read bandwidth from the same run.
#
#   tools/results/speed.sh                          # defaults below
#   REPEAT=3 GEN=32 JMH_ARGS="-wi 1 -i 2" tools/results/speed.sh
#
# Environment: PRUNELAB (default ./prunelab), PROMPT_LEN (512), GEN (64), REPEAT (5), THREADS (all cores),
# JMH_ARGS (default "-f 1 -wi 5 -i 3 -w 2 -r 1": one fork, enough warm-up for the CSR gather kernel to compile),
# WORK (scratch dir for the pruned models and raw outputs; default a new temp dir).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
PROMPT_LEN="${PROMPT_LEN:-512}"
GEN="${GEN:-64}"
REPEAT="${REPEAT:-5}"
JMH_ARGS="${JMH_ARGS:--f 1 -wi 5 -i 3 -w 2 -r 1}"
WORK="${WORK:-$(mktemp -d)}"
THREADS_ARG=()
[ -n "${THREADS:-}" ] && THREADS_ARG=(--threads "$THREADS")
mkdir -p "$WORK" "$ROOT/results"
# Maven and the JMH JVM need JDK 25 (the launcher finds its own).
if [ -z "${JAVA_HOME:-}" ]; then JAVA_HOME="$(ls -d /usr/lib/jvm/*25* 2>/dev/null | head -1)"; export JAVA_HOME; fi
[ -n "${JAVA_HOME:-}" ] && export PATH="$JAVA_HOME/bin:$PATH"

prune() { # name, prune arguments...
  local dir="$WORK/$1"; shift
  [ -d "$dir" ] || "$PRUNELAB" prune --method magnitude "$@" --out "$dir" >&2
}
prune mag-2of4 --pattern 2:4
prune mag-70 --sparsity 0.7

bench() { # output name, model dir, format
  "$PRUNELAB" bench --model "$WORK/$2" --format "$3" --vs dense --prompt-len "$PROMPT_LEN" --gen "$GEN" \
    --repeat "$REPEAT" "${THREADS_ARG[@]}" --json > "$WORK/$1.json"
}
bench bench-nm mag-2of4 nm
bench bench-csr mag-70 csr
bench bench-nm-as-csr mag-2of4 csr

# JMH: build the module, then run it on its own class path.
MVN=(mvn -q -B)
[ -d "$HOME/.m2/repository/org/openjdk/jmh/jmh-core" ] && MVN+=(-o)
(cd "$ROOT" && "${MVN[@]}" -pl jmh -am package -DskipTests) >&2
(cd "$ROOT" && "${MVN[@]}" -pl jmh dependency:build-classpath -Dmdep.outputFile="$WORK/jmh.cp") >&2
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# shellcheck disable=SC2086
"$JAVA" -cp "$ROOT/jmh/target/classes:$(cat "$WORK/jmh.cp")" org.openjdk.jmh.Main $JMH_ARGS \
  -rf json -rff "$WORK/jmh.json" 'org.prunelab.jmh.(FormatBench|StreamBench)' >&2

python3 "$ROOT/tools/results/speed_report.py" "$WORK" "$ROOT/results/speed-smollm2.md" \
  "PROMPT_LEN=$PROMPT_LEN GEN=$GEN REPEAT=$REPEAT JMH_ARGS=\"$JMH_ARGS\" tools/results/speed.sh"
echo "wrote $ROOT/results/speed-smollm2.md (raw outputs in $WORK)" >&2
