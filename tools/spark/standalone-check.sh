#!/usr/bin/env bash
# Checks `--engine spark` on a real Spark standalone cluster on this machine, both ways README documents, and writes
# results/spark-standalone.md:
#
#   1. a Spark venv (pip install pyspark==$SPARK_VERSION; created when missing) is the Spark distribution: SPARK_HOME
#      is its pyspark package folder; a master and one worker (2 cores, 4g) on 127.0.0.1, on JDK 25;
#   2. ./prunelab tradeoff --engine spark --master spark://127.0.0.1:$MASTER_PORT on a 2-point spec (SmolLM2-135M:
#      dense, Wanda 50%; calibration brown 4 x 128, evaluation 1 window x 128, no speed check), one core per executor:
#      both points ran, in two executor JVMs (the worker's executor logs), each point is in MLflow exactly once, and
#      the same command again skips both points without starting a Spark application;
#   3. ./prunelab spark-jar, then the same spec (another experiment) through $SPARK_HOME/bin/spark-submit with the
#      command README documents: both points ran and are in MLflow once, a re-run skips them, and the perplexities
#      equal the launcher's bit for bit;
#   and stops the worker and the master (also on failure or Ctrl-C). Exits 1 when any check fails.
#
#   nice -n 10 tools/spark/standalone-check.sh      # under nice, as the project's benchmarks run
#
# Environment: SPARK_VENV (default: spark-venv beside the checkout), SPARK_VERSION (4.2.0), PRUNELAB_PYTHON (the
# Python to make the venv from; python3), CLUSTER_DIR (logs, the worker's work dir, specs; default: a new temp dir),
# MASTER_PORT (7077), MASTER_UI_PORT (8080), WORKER_UI_PORT (8081), EXECUTOR_MEMORY (1536m), MD (the report;
# results/spark-standalone.md). MLflow: the checkout's local server (started by the first run if not running), or
# MLFLOW_TRACKING_URI; it is left running, as ./prunelab leaves it.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SPARK_VENV="${SPARK_VENV:-$(dirname "$ROOT")/spark-venv}"
SPARK_VERSION="${SPARK_VERSION:-4.2.0}"
PY="${PRUNELAB_PYTHON:-python3}"
CLUSTER_DIR="${CLUSTER_DIR:-$(mktemp -d /tmp/spark-standalone.XXXXXX)}"
MASTER_PORT="${MASTER_PORT:-7077}"
MASTER_UI_PORT="${MASTER_UI_PORT:-8080}"
WORKER_UI_PORT="${WORKER_UI_PORT:-8081}"
EXECUTOR_MEMORY="${EXECUTOR_MEMORY:-1536m}"
MD="${MD:-$ROOT/results/spark-standalone.md}"
MASTER="spark://127.0.0.1:$MASTER_PORT"
STAMP="$(date +%Y%m%d-%H%M%S)"
COMMIT="$(git -C "$ROOT" rev-parse --short=12 HEAD)"
DIRTY="$(git -C "$ROOT" status --porcelain --untracked-files=no | wc -l)"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
mkdir -p "$CLUSTER_DIR"/{logs,work,specs,out} "$(dirname "$MD")"
cd "$ROOT"   # README's spark-submit command names the jar relative to the checkout
LOG="$CLUSTER_DIR/report.log"   # the report's body, built as the checks run
: > "$LOG"
FAILED=0

say() { echo "$*" | tee -a "$LOG" >&2; }
block() { { echo '```'; cat; echo '```'; } | tee -a "$LOG" >&2; }
pass() { say "- PASS: $*"; }
fail() { say "- **FAIL**: $*"; FAILED=1; }
check() { local what="$1"; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

# --- JDK 25 ------------------------------------------------------------------------------------------------------
java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1; }
if [ -z "${JAVA_HOME:-}" ] || [ "$(java_major "$JAVA_HOME")" != 25 ]; then
  JAVA_HOME=""
  for d in /usr/lib/jvm/*; do [ -x "$d/bin/java" ] && [ "$(java_major "$d")" = 25 ] && { JAVA_HOME="$d"; break; }; done
  [ -n "$JAVA_HOME" ] || { echo "standalone-check: no JDK 25 (set JAVA_HOME)" >&2; exit 1; }
fi
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"

# --- 1. Spark venv and cluster -----------------------------------------------------------------------------------
if [ ! -x "$SPARK_VENV/bin/python" ] || ! "$SPARK_VENV/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$SPARK_VERSION')" 2>/dev/null; then
  echo "standalone-check: creating $SPARK_VENV with pyspark==$SPARK_VERSION ..." >&2
  "$PY" -m venv "$SPARK_VENV" && "$SPARK_VENV/bin/pip" install -q "pyspark==$SPARK_VERSION" \
    || { echo "standalone-check: cannot install pyspark==$SPARK_VERSION into $SPARK_VENV" >&2; exit 1; }
fi
SPARK_HOME="$("$SPARK_VENV/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
export SPARK_HOME
SPARK_REPORTED="$("$SPARK_HOME/bin/spark-submit" --version 2>&1 | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' | head -n1)"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$MASTER_PORT" "$MASTER_UI_PORT" "$WORKER_UI_PORT"; do
  port_free "$p" || { echo "standalone-check: port $p on 127.0.0.1 is in use (set MASTER_PORT/MASTER_UI_PORT/WORKER_UI_PORT)" >&2; exit 1; }
done

MASTER_PID="" WORKER_PID=""
stop_pid() {   # $1 = pid: TERM, up to 30 s, then KILL
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill "$1" 2>/dev/null
  for _ in $(seq 30); do kill -0 "$1" 2>/dev/null || return 0; sleep 1; done
  kill -9 "$1" 2>/dev/null
}
stop_cluster() {
  stop_pid "$WORKER_PID"; stop_pid "$MASTER_PID"   # the worker stops its executors first
  WORKER_PID="" MASTER_PID=""
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$CLUSTER_DIR/logs"
# spark-class execs java: $! is the daemon's own pid.
"$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$MASTER_PORT" \
  --webui-port "$MASTER_UI_PORT" > "$CLUSTER_DIR/logs/master.out" 2>&1 &
MASTER_PID=$!
for _ in $(seq 120); do grep -q 'I have been elected leader' "$CLUSTER_DIR/logs/master.out" && break; sleep 1; done
"$SPARK_HOME/bin/spark-class" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 2 --memory 4g \
  --work-dir "$CLUSTER_DIR/work" --webui-port "$WORKER_UI_PORT" "$MASTER" > "$CLUSTER_DIR/logs/worker.out" 2>&1 &
WORKER_PID=$!
for _ in $(seq 120); do grep -q 'Registering worker' "$CLUSTER_DIR/logs/master.out" && break; sleep 1; done

say "## 1. Cluster"
say ""
say "pyspark $("$SPARK_VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)') from PyPI in $SPARK_VENV;"\
" \`spark-submit --version\`: $SPARK_REPORTED; SPARK_HOME=$SPARK_HOME; JDK: $("$JAVA_HOME/bin/java" -version 2>&1 | head -n1)."
say "Master pid $MASTER_PID, worker pid $WORKER_PID; their log lines:"
grep -h -E 'Starting Spark master|Running Spark version|elected leader|Registering worker' "$CLUSTER_DIR/logs/master.out" \
  | sed 's/^[0-9/]* [0-9:]* //' | block
grep -h -E 'Successfully registered with master' "$CLUSTER_DIR/logs/worker.out" | sed 's/^[0-9/]* [0-9:]* //' | block
check "master elected and worker registered (2 cores, 4.0 GiB)" grep -q 'Registering worker .* with 2 cores, 4.0 GiB' "$CLUSTER_DIR/logs/master.out"
check "Spark is $SPARK_VERSION" test "$SPARK_REPORTED" = "$SPARK_VERSION"
[ "$FAILED" = 0 ] || { say "cluster did not start: see $CLUSTER_DIR/logs"; exit 1; }

# --- helpers for the runs ----------------------------------------------------------------------------------------
spec() {   # $1 = experiment
  cat <<YAML
name: spark-standalone
experiment: $1
model: smollm2-135m
calibration: {dataset: brown, nsamples: 4, seqlen: 128}
evaluation: {seqlen: 128, windows: 1, datasets: [brown]}
speed: none
grid:
  - method: dense
  - method: wanda
    sparsity: 0.5
YAML
}
# One core per executor, so the worker's 2 cores make two executor JVMs; wait for both before the tasks start.
CONFS=(--conf spark.executor.cores=1 --conf "spark.executor.memory=$EXECUTOR_MEMORY" --conf spark.cores.max=2
       --conf spark.scheduler.minRegisteredResourcesRatio=1.0)

RUN_RC=0
timed() {   # $1 = label, rest = command; stdout to $CLUSTER_DIR/$label.json, stderr to .err
  local label="$1"; shift
  local lb la t0 t1
  lb="$(cut -d' ' -f1-3 /proc/loadavg)"; t0="$(date +%s)"
  "$@" > "$CLUSTER_DIR/$label.json" 2> "$CLUSTER_DIR/$label.err"
  RUN_RC=$?
  t1="$(date +%s)"; la="$(cut -d' ' -f1-3 /proc/loadavg)"
  say "\`$label\`: exit $RUN_RC, $((t1 - t0)) s, load before $lb, after $la. Its stderr (setup and INFO lines left out):"
  sed 's/\x1b\[[0-9;]*m//g' "$CLUSTER_DIR/$label.err" | grep -v -E '^setup: | INFO |^WARNING: (Using incubator|package sun)' \
    | tail -n 25 | block
}
counts() {   # $1 = label: the --json summary
  python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(' '.join(f'{k}={d[k]}' for k in ('points', 'ran', 'skipped')), 'failures=' + str(len(d['failures'])))" \
    "$CLUSTER_DIR/$1.json" 2>&1
}
apps() { ls -1 "$CLUSTER_DIR/work" | grep '^app-' | sort; }
executors_check() {   # $1 = app id: each task in its own executor JVM, on JDK 25
  local app="$1" dir out
  out="$(for dir in "$CLUSTER_DIR/work/$app"/*/; do
    printf 'executor %s: pid %s, java %s, tasks %s\n' "$(basename "$dir")" \
      "$(sed -n 's/.*Started daemon with process name: \([0-9]*\)@.*/\1/p' "$dir/stderr" | head -n1)" \
      "$(sed -n 's/^Spark Executor Command: "\([^"]*\)".*/\1/p' "$dir/stderr" | head -n1)" \
      "$(sed -n 's/.*Executor: Running task \([0-9.]*\) in stage.*/\1/p' "$dir/stderr" | tr '\n' ' ')"
  done)"
  echo "$out" | block
  python3 - "$out" "$JAVA_HOME/bin/java" <<'PY'
import sys
lines = [l for l in sys.argv[1].splitlines() if l.startswith('executor ')]
pids = {l.split('pid ')[1].split(',')[0] for l in lines}
tasks = [t for l in lines for t in l.split('tasks ')[1].split()]
with_tasks = [l for l in lines if l.split('tasks ')[1].strip()]
ok = (len(with_tasks) == 2 and len(pids) == len(lines) and '' not in pids and sorted(tasks) == ['0.0', '1.0']
      and all(f'java {sys.argv[2]},' in l for l in lines))
sys.exit(0 if ok else 1)
PY
}
mlflow_uri() {
  if [ -n "${MLFLOW_TRACKING_URI:-}" ]; then echo "$MLFLOW_TRACKING_URI"; else "$ROOT/prunelab" mlflow url 2>/dev/null | grep -o 'http[^ ]*' | head -n1; fi
}
mlflow_check() {   # $1 = experiment, $2 = points, $3 = parent runs
  local out rc
  out="$("$ROOT/.venv-mlflow/bin/python" "$ROOT/tools/spark/mlflow_counts.py" "$(mlflow_uri)" "$1" "$2" "$3" 2>&1)"; rc=$?
  echo "$out" | block
  return $rc
}
json_is() { [ "$(counts "$1")" = "$2" ]; }
same_ppl() {
  local out rc
  out="$(python3 - "$CLUSTER_DIR/$1.json" "$CLUSTER_DIR/$2.json" 2>&1 <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
pa = {(p['key'], e['eval_dataset']): e['perplexity'] for p in a['results'] for e in p['evaluation']}
pb = {(p['key'], e['eval_dataset']): e['perplexity'] for p in b['results'] for e in p['evaluation']}
print('  '.join(f"{k[0][:12]} {k[1]}: {pa[k]!r} / {pb.get(k)!r}" for k in sorted(pa)))
sys.exit(0 if pa and pa == pb else 1)
PY
)"; rc=$?
  echo "$out" | block
  return $rc
}

# --- 2. through the launcher ---------------------------------------------------------------------------------------
EXP_A="spark-standalone-launcher-$STAMP"
spec "$EXP_A" > "$CLUSTER_DIR/specs/launcher.yaml"
LAUNCHER_CMD=("$ROOT/prunelab" tradeoff --engine spark --master "$MASTER" --spec "$CLUSTER_DIR/specs/launcher.yaml"
              --profile none --json --out "$CLUSTER_DIR/out/launcher.md" "${CONFS[@]}")
"$ROOT/prunelab" spark-jar > /dev/null 2>&1   # build the classes and the jar first, so no run pays for it
say ""
say "## 2. \`./prunelab tradeoff --engine spark --master $MASTER\`"
say ""
say "Spec (\`specs/launcher.yaml\`):"
spec "$EXP_A" | block
say "Command (run twice): \`$(printf '%q ' "${LAUNCHER_CMD[@]}")\`"
say ""
apps_before="$(apps | wc -l)"
timed launcher-1 "${LAUNCHER_CMD[@]}"
check "first run exits 0" test "$RUN_RC" = 0
say "  summary: $(counts launcher-1)"
check "first run ran both points" json_is launcher-1 "points=2 ran=2 skipped=0 failures=0"
# A master on loopback has its executors on this machine: they reach a loopback MLflow, and the driver must not say not.
check "no warning that executors cannot reach MLflow" bash -c "! grep -q 'executors on other machines cannot reach' '$CLUSTER_DIR/launcher-1.err'"
APP_A="$(apps | tail -n1)"
check "one new Spark application ($APP_A)" test "$(apps | wc -l)" = $((apps_before + 1))
say "Executors of $APP_A (from the worker's work dir, \`$APP_A/N/stderr\`):"
check "each point ran in its own executor JVM, on JDK 25" executors_check "$APP_A"
say "MLflow after the first run:"
check "MLflow: each point once, FINISHED, nested under the parent" mlflow_check "$EXP_A" 2 1
apps_before="$(apps | wc -l)"
timed launcher-2 "${LAUNCHER_CMD[@]}"
check "second run exits 0" test "$RUN_RC" = 0
say "  summary: $(counts launcher-2)"
check "second run skips both points" json_is launcher-2 "points=2 ran=0 skipped=2 failures=0"
check "second run started no Spark application" test "$(apps | wc -l)" = "$apps_before"
say "MLflow after the second run (a second parent run, with no points under it):"
check "MLflow: still each point once" mlflow_check "$EXP_A" 2 2

# --- 3. through spark-submit -------------------------------------------------------------------------------------
say ""
say "## 3. \`./prunelab spark-jar\` and \`spark-submit\`"
say ""
jar_out="$("$ROOT/prunelab" spark-jar 2>"$CLUSTER_DIR/spark-jar.err")"; rc=$?
say "\`./prunelab spark-jar\`: exit $rc, printed \`${jar_out#$ROOT/}\` ($(du -m "$jar_out" 2>/dev/null | cut -f1) MB)"
check "spark-jar built the jar" test "$rc" = 0 -a -f "$ROOT/spark/target/prunelab-spark.jar"
EXP_B="spark-standalone-submit-$STAMP"
spec "$EXP_B" > "$CLUSTER_DIR/specs/submit.yaml"
# README's command (section "The spark-submit jar"), run from the checkout, master and spec filled in.
SUBMIT_CMD=("$SPARK_HOME/bin/spark-submit" --master "$MASTER" --class org.prunelab.cli.Main
            --driver-java-options "--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dprunelab.root=$ROOT"
            spark/target/prunelab-spark.jar tradeoff --engine spark --spec "$CLUSTER_DIR/specs/submit.yaml" --profile none
            --json --out "$CLUSTER_DIR/out/submit.md" "${CONFS[@]}")
say "Command (from the checkout, run twice): \`\$SPARK_HOME/bin/spark-submit $(printf '%q ' "${SUBMIT_CMD[@]:1}")\`"
say ""
apps_before="$(apps | wc -l)"
timed submit-1 "${SUBMIT_CMD[@]}"
check "spark-submit run exits 0" test "$RUN_RC" = 0
say "  summary: $(counts submit-1); $(grep -c ' INFO ' "$CLUSTER_DIR/submit-1.err") INFO lines on stderr (left out above)"
check "spark-submit run ran both points" json_is submit-1 "points=2 ran=2 skipped=0 failures=0"
APP_B="$(apps | tail -n1)"
check "one new Spark application ($APP_B)" test "$(apps | wc -l)" = $((apps_before + 1))
say "Executors of $APP_B:"
check "each point ran in its own executor JVM, on JDK 25" executors_check "$APP_B"
say "MLflow:"
check "MLflow: each point once, FINISHED, nested under the parent" mlflow_check "$EXP_B" 2 1
timed submit-2 "${SUBMIT_CMD[@]}"
check "spark-submit re-run exits 0" test "$RUN_RC" = 0
say "  summary: $(counts submit-2)"
check "spark-submit re-run skips both points" json_is submit-2 "points=2 ran=0 skipped=2 failures=0"
say "Perplexities, launcher / spark-submit:"
check "launcher and spark-submit perplexities identical" same_ppl launcher-1 submit-1

# --- report ------------------------------------------------------------------------------------------------------
stop_cluster
LOAD_END="$(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "# Sweeps on a Spark standalone cluster: \`--engine spark --master spark://\` and spark-submit"
  echo
  echo "Made by \`tools/spark/standalone-check.sh\` at commit $COMMIT$([ "$DIRTY" != 0 ] && echo ' (with uncommitted changes)')"\
       "on $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1)), $(date -u +%Y-%m-%dT%H:%MZ)."\
       "Spark $SPARK_REPORTED (pyspark from PyPI; a master and one worker with 2 cores and 4 GiB on 127.0.0.1, executors"\
       "of 1 core and $EXECUTOR_MEMORY, JDK 25 throughout). A 2-point sweep on SmolLM2-135M (dense, Wanda 50%;"\
       "calibration 4 x 128 tokens of brown, evaluation 1 window x 128, no speed check), once through the launcher and"\
       "once through spark-submit, each to an MLflow experiment of its own, each run twice. Load average (1/5/15 min)"\
       "at the start: $LOAD_START; at the end: $LOAD_END (a shared machine, busy with other jobs)."
  echo
  echo "Command: \`nice -n 10 tools/spark/standalone-check.sh\`. Result: $([ "$FAILED" = 0 ] && echo 'every check passed' || echo '**some checks failed**')."
  echo
  sed "s#$ROOT/##g; s#$CLUSTER_DIR/##g" "$LOG"
} > "$MD"
echo "standalone-check: wrote $MD; logs and executor logs in $CLUSTER_DIR" >&2
[ "$FAILED" = 0 ] && echo "standalone-check: every check passed" >&2 || echo "standalone-check: FAILED (see $MD)" >&2
exit "$FAILED"
