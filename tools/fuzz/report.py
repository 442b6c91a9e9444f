#!/usr/bin/env python3
"""Builds results/fuzz.md from results/fuzz-runs.tsv (the lines tools/fuzz/campaign.sh appends, one per target run).

Totals count every run whose commit has the same main sources (core/src/main, experiments/src/main) as HEAD: chunks of
one campaign add up, across commits that changed only tests or tools. Runs on earlier parser code (before a fix they
led to) are listed below the totals with what they found.
"""
import collections
import subprocess
import sys

tsv, md = sys.argv[1], sys.argv[2]
rows = [line.rstrip("\n").split("\t") for line in open(tsv)][1:]
rows = [r for r in rows if len(r) >= 10]
head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


CORE = "core/src/main/java/org/prunelab/"
EXP = "experiments/src/main/java/org/prunelab/"
# The main sources each target runs (its parser and what the parse calls); a run counts for HEAD when none changed since.
CODE = {
    "GgufFuzzTest#headerAndTensorTable": [CORE + "io", CORE + "arch", CORE + "model/DecoderConfig.java", CORE + "tensor/quant"],
    "GgufFuzzTest#dequantisers": [CORE + "io/GgmlDequant.java", CORE + "io/GgmlType.java", CORE + "tensor/quant"],
    "SafetensorsFuzzTest#header": [CORE + "io/SafetensorsFile.java", CORE + "io/SafetensorsDtype.java",
                                   CORE + "io/SparseBitmaskTensors.java", CORE + "io/GgmlDequant.java", CORE + "tensor/FloatMatrix.java"],
    "HfConfigFuzzTest#configJson": [CORE + "arch", CORE + "model/DecoderConfig.java", CORE + "model/BlockShape.java"],
    "TokenizerBuilderFuzzTest#vocabulary": [CORE + "io/GgufVocab.java", CORE + "io/TokenizerJsonBuilder.java",
                                            CORE + "io/SentencePieceBpeJson.java", CORE + "data/Tokenizer.java"],
    "ArchivesFuzzTest#packages": [CORE + "cache/Archives.java"],
    "TaskFormatFuzzTest#read": [CORE + "eval/tasks/TaskFormat.java", CORE + "eval/tasks/McItem.java", CORE + "Utf8Text.java"],
    "SweepSpecFuzzTest#spec": [EXP + "sweep", EXP + "run", CORE + "prune", CORE + "Utf8Text.java"],
    "OutboxFuzzTest#outboxFile": [EXP + "track"],
}


def unchanged(commit, target):
    """Whether the code a run fuzzed is HEAD's: none of its target's main sources changed since the run's commit."""
    if commit.endswith("+changes"):
        return False
    paths = CODE.get(target, [CORE + "data", ":(exclude)" + CORE + "data/Tokenizer.java",  # the corpus loaders
                              CORE + "cache/PrunelabHome.java"])
    return subprocess.run(["git", "diff", "--quiet", commit, "HEAD", "--"] + paths).returncode == 0


verdict = {(r[0], r[1]): unchanged(r[0], r[1]) for r in rows}
current = [r for r in rows if verdict[(r[0], r[1])]]
latest = head
all_runs = sum(int(r[2]) for r in rows)

per = collections.OrderedDict()
for commit, target, runs, seconds, cov, ft, corp, crashes, timeouts, coverage in current:
    t = per.setdefault(target, dict(runs=0, seconds=0, cov=0, ft=0, corp=0, crashes=0, timeouts=0, coverage=""))
    t["runs"] += int(runs)
    t["seconds"] += int(seconds)
    t["cov"] = max(t["cov"], int(cov))
    t["ft"] = max(t["ft"], int(ft))
    t["corp"] = max(t["corp"], int(corp))
    if not coverage.startswith("false positive"):  # a finding judged by hand, with the reason in this column
        t["crashes"] += int(crashes)
        t["timeouts"] += int(timeouts)
    t["coverage"] = coverage

total_runs = sum(t["runs"] for t in per.values())
total_crashes = sum(t["crashes"] for t in per.values())
total_timeouts = sum(t["timeouts"] for t in per.values())

out = []
out.append("# Fuzzing campaign (issue 16)\n")
out.append("Made by `tools/fuzz/campaign.sh` (Jazzer 0.30.0 standalone on each JUnit `@FuzzTest`, JDK 25, `nice -n 15`,")
out.append("2 GB heap, 60 s per-input timeout, inputs up to 16 KB, seeds from `src/test/resources/.../<Class>Inputs/<method>/`).")
out.append("Every target checks the contract of `FuzzContract`: a `PrunelabException` with a message or a valid result,")
out.append("never another exception, and a bounded allocation per input (measured per thread: 64 bytes per input byte")
out.append("plus 16 MiB in regression runs of the committed inputs; 16x that while fuzzing, where Jazzer's hooks allocate in")
out.append("the same thread, under a 2 GB heap that turns a runaway allocation into a finding).")
out.append("`cov` is libFuzzer's count of covered edges, `ft` its features, `corpus` the inputs it kept; the last column is")
out.append("line and branch coverage of the parser's own files from Jazzer's coverage report of the last run.\n")
out.append("Code as of commit `%s`: a run counts below when none of the main sources its target runs changed since the" % latest)
out.append("run's commit (runs on %s). Command:" % ", ".join("`%s`" % c for c in sorted({r[0] for r in current})))
out.append("`tools/fuzz/campaign.sh --runs N --seconds S [TARGET ...]`, in chunks; every row is in `results/fuzz-runs.tsv`.\n")
out.append("**Total on the committed code: %d executions, %d crashes, %d hangs (timeouts).** All campaign runs, including"
           " those on code changed since (listed at the end): %d executions.\n" % (total_runs, total_crashes, total_timeouts, all_runs))
out.append("| target | executions | seconds | exec/s | cov | ft | corpus | crashes | hangs | coverage of the parser's files |")
out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for name, t in per.items():
    rate = t["runs"] // max(1, t["seconds"])
    out.append("| `%s` | %d | %d | %d | %d | %d | %d | %d | %d | %s |" % (
        name, t["runs"], t["seconds"], rate, t["cov"], t["ft"], t["corp"], t["crashes"], t["timeouts"], t["coverage"]))
false_positives = [r for r in current if r[9].startswith("false positive")]
if false_positives:
    out.append("\nFindings judged false positives (not counted above):\n")
    for r in false_positives:
        out.append("- `%s` at `%s`: %s crash(es), %s hang(s): %s" % (r[1], r[0], r[7], r[8], r[9]))
earlier = [r for r in rows if not verdict[(r[0], r[1])]]
if earlier:
    out.append("\n## Runs on code changed since (before the fixes they led to, or before a fix another target led to)\n")
    out.append("| commit | target | executions | crashes | hangs |")
    out.append("|---|---|---:|---:|---:|")
    for r in earlier:
        out.append("| `%s` | `%s` | %s | %s | %s |" % (r[0], r[1], r[2], r[7], r[8]))
open(md, "w").write("\n".join(out) + "\n")
