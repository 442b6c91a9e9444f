#!/usr/bin/env python3
"""Summarises SparseQuantBench output tables (org.prunelab.bench.SparseQuantBench --out FILE) for
results/sparse-quant-bench.md: one row per shape, regime, threads and tokens; per format the median per-round
speedup over the project's Q8_0 (QuantLinear) and over the structure-of-arrays Q8_0 baseline, "a / b".

usage: sparse_quant_report.py BENCH.md [BENCH.md ...]
"""
import sys

FORMATS = ["2:4-q8", "2:4-q4", "4:8-q8", "2:4-f32", "q4_0", "dense-f32", "dense-blas", "2:4-q8 slabs"]


def rows(path):
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 11 and cells[0][:1].isdigit():
            yield cells


def main(paths):
    cells = {}
    order = []
    present = set()
    for path in paths:
        for c in rows(path):
            key = (c[0], c[1], c[2], c[3])
            if key not in cells:
                cells[key] = {}
                order.append(key)
            cells[key][c[4]] = c
            present.add(c[4])
    formats = [f for f in FORMATS if f in present]
    print("| shape | regime | threads | tokens | q8_0 us | q8_0-soa us | " + " | ".join(formats) + " | loadavg |")
    print("|---|---|---|---|---|---|" + "---|" * len(formats) + "---|")
    for key in order:
        c = cells[key]
        q8 = c.get("q8_0")
        soa = c.get("q8_0-soa")
        ratios = [f"{c[f][7]} / {c[f][8]}" if f in c else "" for f in formats]
        load = (q8 or soa)[10].split(" / ")[0].split(" ")[0]
        print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {q8[6] if q8 else ''} | {soa[6] if soa else ''} | "
              + " | ".join(ratios) + f" | {load} |")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    main(sys.argv[1:])
