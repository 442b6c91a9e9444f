"""Counts a sweep's runs in MLflow, for tools/spark/standalone-check.sh.

    python mlflow_counts.py TRACKING_URI EXPERIMENT EXPECTED_POINTS EXPECTED_PARENTS

Prints every run of the experiment (status, spec key, engine, executor, attempt, artifacts) and exits 1 unless each
point (prunelab.spec_key) has exactly one FINISHED run, there are EXPECTED_POINTS of them, all logged by the Spark
engine with an executor tag, nested under a parent, with no other run left RUNNING/FAILED/KILLED, and the experiment
holds EXPECTED_PARENTS parent (sweep) runs.
"""
import collections
import sys

from mlflow.tracking import MlflowClient

uri, experiment, want_points, want_parents = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
client = MlflowClient(tracking_uri=uri)
exp = client.get_experiment_by_name(experiment)
if exp is None:
    print(f"FAIL: no experiment {experiment} on {uri}")
    sys.exit(1)
runs = client.search_runs([exp.experiment_id], max_results=1000)
parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
points = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
problems = []
for r in parents:
    t = r.data.tags
    print(f"parent {r.info.run_id} {r.info.status} engine={t.get('prunelab.engine')} master={t.get('prunelab.spark.master')}"
          f" app={t.get('prunelab.spark.app_id')}")
by_key = collections.defaultdict(list)
for r in points:
    t = r.data.tags
    key = t.get("prunelab.spec_key", "?")
    by_key[key].append(r)
    arts = sorted(a.path for a in client.list_artifacts(r.info.run_id))
    print(f"point {t.get('mlflow.runName')} {r.info.status} key={key[:12]} engine={t.get('prunelab.engine')}"
          f" executor={t.get('prunelab.spark.executor')} attempt={t.get('prunelab.spark.attempt')}"
          f" parent={t.get('mlflow.parentRunId')} artifacts={arts}"
          + (" artifacts_skipped=" + t["prunelab.spark.artifacts_skipped"] if "prunelab.spark.artifacts_skipped" in t else ""))
    if t.get("prunelab.engine") != "spark" or not t.get("prunelab.spark.executor"):
        problems.append(f"{t.get('mlflow.runName')} not tagged as a Spark executor's run")
    if t.get("mlflow.parentRunId") not in {p.info.run_id for p in parents}:
        problems.append(f"{t.get('mlflow.runName')}'s parent is not a run of this experiment")
for key, rs in by_key.items():
    finished = [r for r in rs if r.info.status == "FINISHED"]
    if len(finished) != 1 or len(rs) != 1:
        problems.append(f"point {key[:12]}: {len(finished)} FINISHED of {len(rs)} runs (want exactly 1 run, FINISHED)")
if len(by_key) != want_points:
    problems.append(f"{len(by_key)} points in MLflow, want {want_points}")
if len(parents) != want_parents:
    problems.append(f"{len(parents)} parent runs, want {want_parents}")
print(f"{experiment}: {len(parents)} parent run(s), {len(points)} point run(s), {len(by_key)} distinct point(s)")
for p in problems:
    print("FAIL:", p)
print("PASS" if not problems else "FAIL")
sys.exit(1 if problems else 0)
