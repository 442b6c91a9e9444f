#!/usr/bin/env bash
# The runs behind results/mwanda-smollm2.md: SmolLM2-135M at 50% unstructured, calibration 8 windows x 128 tokens, Wanda
# calibrated on brown, on udhr:swh and on four UDHR languages, M-Wanda on the same four (default parameters, without
# CWL, CWL only), seeds 0 (and 1 for the four-language pair); evaluation 16 windows x 128 tokens (udhr:eng has 12) of
# the UDHR evaluation parts (articles other than 1, 4, ..., 28) and brown. A measurement on a shared machine, not a test:
# each run's load average is kept beside its report. Reports land in $WORK/<run>.json; mwanda_report.py tabulates them.
#
#   WORK=/tmp/mw/runs tools/results/mwanda.sh && python3 tools/results/mwanda_report.py /tmp/mw/runs
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="${WORK:-$(mktemp -d)}"
EVAL="--eval udhr:swh --eval udhr:eng --eval udhr:yor --eval udhr:fra --eval brown --eval-seqlen 128 --eval-windows 16"
C4="udhr:eng,udhr:swh,udhr:yor,udhr:fra"
run() {
  local name=$1 seed=$2; shift 2
  uptime > "$WORK/$name.load"
  /usr/bin/time -v "$ROOT/prunelab" prune --model smollm2-135m --sparsity 0.5 --nsamples 8 --seqlen 128 --seed "$seed" \
      --no-track $EVAL --json --out "$WORK/$name" "$@" > "$WORK/$name.json" 2> "$WORK/$name.err"
  uptime >> "$WORK/$name.load"
}
run wanda-brown 0 --method wanda --calib brown
run wanda-swh 0 --method wanda --calib udhr:swh
run mwanda-4 0 --method mwanda --calib "$C4"
run wanda-4 0 --method wanda --calib "$C4"
run mwanda-4-nocwl 0 --method mwanda --calib "$C4" --no-cwl
run mwanda-4-cwlonly 0 --method mwanda --calib "$C4" --alpha 0 --beta 0
run wanda-4-s1 1 --method wanda --calib "$C4"
run mwanda-4-s1 1 --method mwanda --calib "$C4"
