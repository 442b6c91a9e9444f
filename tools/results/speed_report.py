#!/usr/bin/env python3
"""Renders results/speed-smollm2.md from the raw outputs of tools/results/speed.sh.

usage: speed_report.py WORK_DIR OUT_MD COMMAND_LINE
WORK_DIR holds bench-nm.json, bench-csr.json, bench-nm-as-csr.json (prunelab bench --json) and jmh.json (JMH -rf json).
"""
import json
import math
import os
import platform
import sys

work, out_md, command = sys.argv[1:4]


def load(name):
    path = os.path.join(work, name)
    return json.load(open(path)) if os.path.exists(path) else None


def weight_bytes(case, out, inn):
    """Bytes the stored weight occupies (what one product streams), by the formats' own formulas (WeightFormat.weightBytes).

    case is FormatBench's pair FORMAT/WEIGHTS: dense, csr, nm, q8_0, q4_0 on dense, u50/u70/u90 or 2:4 weights."""
    fmt, weights = case.split("/", 1)
    density = {"dense": 1.0, "2:4": 0.5}.get(weights) or 1 - int(weights[1:]) / 100
    if fmt == "dense":
        return 4 * out * inn
    if fmt == "nm":  # kept values + 2 bits of position per kept value (bitmap, one 64-bit word per 64 columns)
        return 4 * out * (inn // 2) + 8 * out * math.ceil(inn / 64)
    if fmt == "q8_0":  # 34 bytes per 32 weights (fp16 scale + 32 int8), zeros stored
        return out * inn // 32 * 34
    if fmt == "q4_0":  # 18 bytes per 32 weights (fp16 scale + 16 bytes of nibbles)
        return out * inn // 32 * 18
    if fmt in ("nm-q8", "nm-q4"):  # 2:4 kept values in ggml blocks of 32 (fp16 scale) + 2 bits of position each
        block = 34 if fmt == "nm-q8" else 18
        slots = inn // 2
        return out * (math.ceil(slots / 32) * block + 4 * math.ceil(slots / 16))
    return 8 * density * out * inn + 4 * (out + 1)  # csr: value + column index per nonzero, row pointers


lines = ["# Sparse weight formats on SmolLM2-135M: speed measured in the same process", "",
         f"Made by `{command}` on {platform.node() or 'the development machine'} "
         f"({os.cpu_count()} CPUs, **shared with other jobs**: read ratios from alternating runs, not absolute times).", ""]

benches = [("packed 2:4 (`--format nm`), magnitude 2:4", load("bench-nm.json"), 1.3),
           ("CSR (`--format csr`), magnitude 70% unstructured", load("bench-csr.json"), 1.2),
           ("CSR (`--format csr`) on the 2:4 model (for comparison)", load("bench-nm-as-csr.json"), None)]
lines += ["## Whole model: `prunelab bench --vs dense`", "",
          "Each row: the pruned model in its format and the dense model it was pruned from (`prune_report.json`), "
          "both resident in one JVM; prompt prefilled into a KV cache, then greedy decode at batch 1; runs alternate "
          "(ABBA), and each speedup is dense time / format time of one pair, reported as median (min..max) over the pairs.", "",
          "| model / format | decode speedup | goal | prefill speedup | decode tok/s (format / dense) | decode p50 / p95 ms | "
          "prefill tok/s (format / dense) | linears MB (format / dense) | decode-bytes bound | decode GB/s streamed (format / dense) |",
          "|---|---|---|---|---|---|---|---|---|---|"]
bounds = {}
for label, b, goal in benches:
    if b is None:
        lines.append(f"| {label} | not run | | | | | | | |")
        continue
    d = b["vs"]
    lm_head = b["model_bytes"] - b["linear_bytes"]  # tied embedding = LM head, streamed every decode step (+ norms)
    bound = (d["linear_bytes"] + lm_head) / (b["linear_bytes"] + lm_head)
    bounds[label] = bound
    goal_s = "" if goal is None else (f">= {goal}x: met" if b["speedup_decode"] >= goal
                                      else f">= {goal}x: missed by {goal - b['speedup_decode']:.2f}x")
    lines.append(
        f"| {label} | **{b['speedup_decode']:.2f}x** ({b['speedup_decode_min']:.2f}..{b['speedup_decode_max']:.2f}) | {goal_s} "
        f"| {b['speedup_prefill']:.2f}x ({b['speedup_prefill_min']:.2f}..{b['speedup_prefill_max']:.2f}) "
        f"| {b['decode_tokens_per_s']:.1f} / {d['decode_tokens_per_s']:.1f} "
        f"| {1e3 * b['decode_latency_p50_s']:.1f} / {1e3 * b['decode_latency_p95_s']:.1f} "
        f"| {b['prefill_tokens_per_s']:.0f} / {d['prefill_tokens_per_s']:.0f} "
        f"| {b['linear_bytes'] / 1e6:.0f} / {d['linear_bytes'] / 1e6:.0f} | {bound:.2f}x "
        f"| {b['decode_tokens_per_s'] * (b['linear_bytes'] + lm_head) / 1e9:.1f} / {d['decode_tokens_per_s'] * (d['linear_bytes'] + lm_head) / 1e9:.1f} |")
any_b = next((b for _, b, _ in benches if b), None)
if any_b:
    lines += ["", f"Settings: prompt {any_b['prompt_len']} tokens, {any_b['gen']} generated, {any_b['repeat']} pairs after "
              f"{any_b['warmup']} warm-up run(s) each, {any_b['threads']} threads, dense prefill on {any_b['gemm_backend']} "
              "(one-token products on the Vector API kernel, faster than BLAS here). "
              f"Model bytes in memory: dense {any_b['vs']['model_bytes'] / 1e6:.0f} MB; on disk: dense GGUF "
              f"{any_b['vs']['model_file_bytes'] / 1e6:.0f} MB (Q4_1), pruned checkpoints {any_b['model_file_bytes'] / 1e6:.0f} MB "
              "(fp32 safetensors: the zeros are stored). Peak RSS with both models resident: "
              f"{any_b['peak_rss_bytes'] / 1e6:.0f} MB.",
              "",
              "*Decode-bytes bound*: decode at batch 1 streams every weight once per token, so if it were purely "
              "bandwidth-bound the speedup would be (dense linears + LM head bytes) / (format linears + LM head bytes). "
              "The LM head (tied embedding, 113 MB) stays dense, which caps every format well below the per-layer ratio. "
              "*Decode GB/s streamed* = decode tokens/s x weight bytes per token: where a format streams fewer GB/s than "
              "dense, its kernel is limited by instructions (bit decoding, expands, gathers), not by memory bandwidth."]

jmh = load("jmh.json")
if jmh:
    copy = read = None
    rows = {}
    for r in jmh:
        name = r["benchmark"].rsplit(".", 1)[-1]
        score = r["primaryMetric"]["score"]
        unit = r["primaryMetric"]["scoreUnit"]
        if r["benchmark"].endswith("StreamBench.copy"):
            copy = 2 * 4 * (64 << 20) / (score / 1e3) / 1e9
        elif r["benchmark"].endswith("StreamBench.read"):
            read = 4 * (64 << 20) / (score / 1e3) / 1e9
        elif name == "forward":
            p = r["params"]
            rows[(p["shape"], p["pair"], int(p["tokens"]))] = (score, r["primaryMetric"].get("scoreError", float("nan")))
    lines += ["", "## Kernels: JMH (module `jmh/`, `FormatBench`, `StreamBench`)", "",
              f"STREAM-like bandwidth in the same run, one thread: **copy {copy or float('nan'):.1f} GB/s** "
              f"(read + write bytes), **read {read or float('nan'):.1f} GB/s**. "
              "Calls rotate over copies of the layer filling 256 MiB, so weights come from memory (decode's regime). "
              "GFLOP/s-equivalent = 2 x out x in x tokens / time (as if dense); bytes = stored weight + x + y; "
              "speedup = dense time / format time, same run.", "",
              "| shape | format/weights | tokens | us/call | GFLOP/s-eq | MB moved | GB/s | speedup vs dense |",
              "|---|---|---|---|---|---|---|---|"]
    shapes = ["576x576", "1536x576", "576x1536", "49152x576"]
    order = lambda kv: (shapes.index(kv[0][0]), kv[0][2], kv[0][1] != "dense/dense", kv[0][1])
    for (shape, case, tokens), (us, err) in sorted(rows.items(), key=order):
        o, i = map(int, shape.split("x"))
        flops = 2 * o * i * tokens
        moved = weight_bytes(case, o, i) + 4 * tokens * (i + o)
        dense = rows.get((shape, "dense/dense", tokens))
        sp = f"{dense[0] / us:.2f}x" if dense else ""
        lines.append(f"| {shape} | {case} | {tokens} | {us:.1f} ± {err:.1f} | {flops / us / 1e3:.1f} | {moved / 1e6:.2f} "
                     f"| {moved / us / 1e3:.1f} | {sp} |")

lines += ["", "## Packed N:M layout: bitmap, not index lists", "",
          "The issue's spec asks for kept values plus 2-bit (2:4) / 3-bit (4:8) in-group indices. `PackedNmMatrix` "
          "stores the kept values plus an occupancy bitmap of M bits per group instead. Per group that is 4 bits for 2:4 "
          "(the same as two 2-bit indices) and 8 bits for 4:8 (less than four 3-bit indices, 12 bits), so the bitmap "
          "moves the same or fewer bytes: a 576-wide 2:4 row is 1152 value bytes + 72 bitmap bytes (0.53x dense); "
          "4:8 with 3-bit indices would be 1152 + 108. The bitmap also decodes without gathers (a vector of L columns' "
          "bits is a lane mask for `expand`), which index lists cannot, so it was kept.",
          "", "## The seed claim, side by side", "",
          "Claim: *structured pruning gives 1.5-2x on regular hardware; unstructured 0.5-1.3x without sparse tensor cores.*", "",
          "| kind | claim | measured here (decode, median of pairs) |", "|---|---|---|",
          "| structured (physically smaller layers) | 1.5-2x | rows come from the structured-pruning work (another helper); not measured here |"]
for label, b, _ in benches:
    if b:
        lines.append(f"| {label} | 0.5-1.3x (unstructured) | {b['speedup_decode']:.2f}x decode, {b['speedup_prefill']:.2f}x prefill |")
lines += ["", "Structured rows: to be added by the structured-pruning helper with the same `prunelab bench --vs dense`."]
open(out_md, "w").write("\n".join(lines) + "\n")
