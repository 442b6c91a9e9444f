#!/usr/bin/env python3
"""Tabulates the prune reports of tools/results/mwanda.sh (one JSON per run in the folder given) as Markdown."""
import json
import os
import sys

RUNS = ["wanda-brown", "wanda-swh", "wanda-4", "mwanda-4", "mwanda-4-nocwl", "mwanda-4-cwlonly", "wanda-4-s1", "mwanda-4-s1"]
SETS = ["udhr:swh", "udhr:eng", "udhr:yor", "udhr:fra", "brown"]


def main(folder):
    rows = []
    dense = None
    for name in RUNS:
        path = os.path.join(folder, name + ".json")
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            continue
        d = json.load(open(path))
        ev = {e["eval_dataset"]: e for e in d["evaluation"]}
        dense = dense or ev
        p = d.get("params", {})
        extra = ",".join(f"{k}={p[k]}" for k in ("alpha", "beta", "cwl") if k in p)
        load = open(os.path.join(folder, name + ".load")).read().split("load average:")[1].split("\n")[0].strip()
        rows.append(f"| {name} | {d['method']} {extra} | {d['calib_dataset']} | {d['seed']} | {d['actual_sparsity']:.4f} | "
                    f"{d['prune_seconds']:.1f} | " + " | ".join(f"{ev[s]['perplexity']:.2f} (x{ev[s]['ppl_ratio']:.3f})" for s in SETS)
                    + f" | {load} |")
    print("| run | method | calib_dataset | seed | actual sparsity | prune s | " + " | ".join(f"ppl {s} (ratio)" for s in SETS)
          + " | load avg before (1/5/15) |")
    print("|---" * (7 + len(SETS)) + "|")
    print("| dense | | | | 0 | | " + " | ".join(f"{dense[s]['perplexity_dense']:.2f}" for s in SETS) + " | |")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main(sys.argv[1])
