#!/usr/bin/env bash
# The long fuzzing campaign (issue 16): runs every Jazzer fuzz target of core/ and experiments/ in fuzzing mode for a
# number of executions each, collects crashing and hanging inputs into the targets' regression folders
# (src/test/resources/.../<Class>Inputs/<method>/, which `./prunelab test` replays), and writes results/fuzz.md with
# executions, coverage (libFuzzer edges and features; line and branch coverage of the parser's own files from Jazzer's
# coverage report) and findings per target.
#
#   tools/fuzz/campaign.sh [--runs N] [--seconds S] [TARGET ...]   TARGET: e.g. GgufFuzzTest#headerAndTensorTable
#                                                                 (default: all); each target stops at N runs or S s
#
# Each target runs in its own JVM (Jazzer standalone, the JUnit @FuzzTest as target) under `nice -n 15`, with a 2 GB
# heap, a 60 s per-input timeout (a hang: inputs parse in milliseconds, but a niced JVM on a loaded machine can wait
# over 10 s for the CPU while it loads and instruments its classes on the first input) and inputs of at most 16 KB; the allocation bound of FuzzContract is 16x the
# regression one there, since Jazzer's hooks allocate in the parsing thread too. Runs append to results/fuzz-runs.tsv (one line
# per target run: the campaign may run in chunks), and results/fuzz.md is rebuilt from all lines of the current commit.
# The generated corpus stays in target/fuzz/corpus/ between chunks, so a later chunk continues where one stopped.
set -euo pipefail

# PRUNELAB_ROOT lets a copy of this script run (bash reads a script as it goes: editing it mid-campaign breaks the run).
ROOT="${PRUNELAB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
cd "$ROOT"
RUNS=1000000
SECONDS_EACH=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --seconds) SECONDS_EACH="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done

# module  class  method  parser files (for the coverage column)
ALL=(
  "core org.prunelab.io.GgufFuzzTest headerAndTensorTable GgufFile.java,GgufCursor.java,GgufMetadata.java,GgufVocab.java,TokenizerJsonBuilder.java"
  "core org.prunelab.io.GgufFuzzTest dequantisers GgmlDequant.java,QuantType.java"
  "core org.prunelab.io.SafetensorsFuzzTest header SafetensorsFile.java,SparseBitmaskTensors.java"
  "core org.prunelab.arch.HfConfigFuzzTest configJson HfConfig.java,StandardArchitecture.java,DecoderConfig.java"
  "core org.prunelab.io.TokenizerBuilderFuzzTest vocabulary TokenizerJsonBuilder.java,SentencePieceBpeJson.java,GgufVocab.java,Tokenizer.java"
  "core org.prunelab.data.CorpusFuzzTest plainText PlainTextCorpus.java"
  "core org.prunelab.data.CorpusFuzzTest brown BrownCorpus.java"
  "core org.prunelab.data.CorpusFuzzTest udhr UdhrHtml.java,UdhrCorpus.java"
  "core org.prunelab.data.CorpusFuzzTest nlpCorpus NlpCorpus.java"
  "core org.prunelab.data.CorpusFuzzTest wikitext2 WikiText2.java"
  "core org.prunelab.data.CorpusFuzzTest europarl EuroparlCorpus.java"
  "core org.prunelab.data.CorpusFuzzTest datasetSpec Datasets.java"
  "core org.prunelab.cache.ArchivesFuzzTest packages Archives.java"
  "core org.prunelab.eval.tasks.TaskFormatFuzzTest read TaskFormat.java,McItem.java"
  "experiments org.prunelab.sweep.SweepSpecFuzzTest spec SweepSpecLoader.java,YamlTree.java"
  "experiments org.prunelab.track.OutboxFuzzTest outboxFile Outbox.java,OutboxSync.java,OutboxRecord.java"
)

export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export PATH="$JAVA_HOME/bin:$PATH"
OUT="$ROOT/target/fuzz"
mkdir -p "$OUT"

echo "fuzz: compiling core and experiments (tests included) ..." >&2
# With the test classpaths, resolved in the reactor (experiments gets core's target/classes): <module>/target/fuzz.cp.
nice -n 15 mvn -B -ntp -q -o -pl core,experiments test-compile dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=target/fuzz.cp >&2

# Fuzz a snapshot of the compiled classes: a build started while the campaign runs must not change them under it.
rm -rf "$OUT/snap"
for m in core experiments; do
  mkdir -p "$OUT/snap/$m" && cp -r "$m/target/classes" "$m/target/test-classes" "$OUT/snap/$m/"
done

COMMIT="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- core experiments || echo '+changes')"
TSV="$ROOT/results/fuzz-runs.tsv"
[ -f "$TSV" ] || printf 'commit\ttarget\truns\tseconds\tcov\tft\tcorpus\tcrashes\ttimeouts\tcoverage\n' > "$TSV"

run_target() {
  local module="$1" class="$2" method="$3" files="$4"
  local name="${class##*.}#$method"
  local dir="$OUT/$name"
  local corpus="$OUT/corpus/$name"
  local pkgpath="${class%.*}"; pkgpath="${pkgpath//.//}"
  local inputs="$ROOT/$module/src/test/resources/$pkgpath/${class##*.}Inputs/$method"
  rm -rf "$dir"; mkdir -p "$dir/findings" "$corpus" "$inputs"
  local cp="$OUT/snap/$module/test-classes:$OUT/snap/$module/classes"
  # experiments' resolved class path names core's target/classes: the snapshot's copy goes first.
  [ "$module" = experiments ] && cp="$cp:$OUT/snap/core/classes"
  cp="$cp:$(cat "$ROOT/$module/target/fuzz.cp")"
  echo "fuzz: $name: $RUNS runs ..." >&2
  local start rc=0
  start=$(date +%s)
  (cd "$dir" && nice -n 15 java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
      -XX:+EnableDynamicAgentLoading -Xmx2g -Djava.awt.headless=true -Djunit.jupiter.execution.timeout.mode=disabled -Dprunelab.fuzz.allocationFactor=16 \
      -Dprunelab.root="$ROOT" -cp "$cp" com.code_intelligence.jazzer.Jazzer \
      --target_class="$class" --target_method="$method" \
      --instrumentation_includes='org.prunelab.**' --custom_hook_includes='org.prunelab.**' \
      --coverage_report="$dir/coverage.txt" --keep_going=20 \
      -runs="$RUNS" -max_total_time="$SECONDS_EACH" -timeout=60 -max_len=16384 -print_final_stats=1 -artifact_prefix="$dir/findings/" \
      "$corpus" "$inputs") > "$dir/log" 2>&1 || rc=$?
  local seconds=$(( $(date +%s) - start ))
  # Findings become regression inputs of the same target.
  local crashes=0 timeouts=0 f
  for f in "$dir"/findings/*; do
    [ -e "$f" ] || continue
    # slow-unit-*: libFuzzer's inputs over 10 s (-report_slow_units), kept as regression inputs but not hangs.
    case "$(basename "$f")" in crash-*|oom-*) crashes=$((crashes + 1)) ;; timeout-*) timeouts=$((timeouts + 1)) ;; slow-unit-*) ;; *) continue ;; esac
    cp "$f" "$inputs/"
  done
  python3 - "$dir" "$files" "$COMMIT" "$name" "$seconds" "$crashes" "$timeouts" "$rc" >> "$TSV" <<'EOF'
import re, sys
d, files, commit, name, seconds, crashes, timeouts, rc = sys.argv[1:]
log = open(d + "/log", errors="replace").read()
runs = re.findall(r"stat::number_of_executed_units: (\d+)", log) or re.findall(r"Done (\d+) runs", log) or ["0"]
last = re.findall(r"#\d+\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)", log)
cov, ft, corp = last[-1] if last else ("0", "0", "0")
cover = []
try:
    rep = open(d + "/coverage.txt", errors="replace").read()
    br, ln = rep.split("Line coverage:")[0], rep.split("Line coverage:")[1]
    for f in files.split(","):
        l = re.search(r"^" + re.escape(f) + r": (\d+)/(\d+)", ln, re.M)
        b = re.search(r"^" + re.escape(f) + r": (\d+)/(\d+)", br, re.M)
        if l:
            cover.append("%s lines %s/%s, branches %s/%s" % (f, l.group(1), l.group(2), b.group(1) if b else "?", b.group(2) if b else "?"))
except (OSError, IndexError):
    cover.append("no coverage report")
if rc not in ("0",) and crashes == "0" and timeouts == "0":
    cover.append("jazzer exited %s without a finding file: see %s/log" % (rc, d))
print("\t".join([commit, name, runs[-1], seconds, cov, ft, corp, crashes, timeouts, "; ".join(cover)]))
EOF
  tail -n1 "$TSV" | cut -f2-9 >&2
}

for spec in "${ALL[@]}"; do
  read -r module class method files <<< "$spec"
  name="${class##*.}#$method"
  if [ "${#TARGETS[@]}" -gt 0 ]; then
    keep=false
    for t in "${TARGETS[@]}"; do [ "$t" = "$name" ] && keep=true; done
    $keep || continue
  fi
  run_target "$module" "$class" "$method" "$files"
done

python3 "$ROOT/tools/fuzz/report.py" "$TSV" "$ROOT/results/fuzz.md"
echo "fuzz: wrote results/fuzz.md" >&2
