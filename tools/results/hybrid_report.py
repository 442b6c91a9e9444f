#!/usr/bin/env python3
"""Renders results/hybrid-smollm2.md from the JSON that tools/results/hybrid.sh collected (stdlib only).

Every number in the table comes from a file in --work: NAME.json (prunelab prune/quantize --json: perplexities,
parameters, the GGUF written) and NAME.bench.json (prunelab bench --vs dense --json: tokens/s of this model and of
the fp32 dense model, alternating, and bytes in memory)."""
import argparse
import json
import os

LANGS = ["brown", "udhr:eng", "udhr:swh", "udhr:yor", "udhr:hau_NG", "udhr:deu_1996", "udhr:fra"]
LABELS = {
    "fp32-f32": "fp32 (dense)",
    "q8_0": "Q8_0",
    "q4_0": "Q4_0",
    "q4_0-gptq": "Q4_0, GPTQ",
    "wanda50-q8_0": "Wanda 50% + Q8_0",
    "wanda50-q4_0": "Wanda 50% + Q4_0",
    "wanda50-q4_0-gptq": "Wanda 50% + Q4_0, GPTQ",
    "sparsegpt24-q8_0": "SparseGPT 2:4 + Q8_0",
    "fasp25-q8_0": "FASP 25% + Q8_0",
}


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", required=True)
    ap.add_argument("--start", required=True)
    ap.add_argument("--load-before", required=True)
    ap.add_argument("--load-after", required=True)
    ap.add_argument("--command", required=True)
    a = ap.parse_args()
    names = [n.strip() for n in open(os.path.join(a.work, "points.txt")) if n.strip()]
    rows = []
    for n in names:
        run = load(os.path.join(a.work, n + ".json"))
        bench = load(os.path.join(a.work, n + ".bench.json"))
        ppl = {e["eval_dataset"]: e for e in run["evaluation"]}
        rows.append((n, run, bench, ppl))
    dense_params = rows[0][1]["params_total_dense"]
    fp16_bytes = 2 * dense_params
    out = []
    w = out.append
    w("# Prune + quantise on SmolLM2-135M (the hybrid)\n")
    w(f"Made by `{a.command}` at commit `{a.commit}`, started {a.start}; load average (1/5/15 min) "
      f"{a.load_before} before, {a.load_after} after, on this project's 2-core machine.\n")
    w("Every model is pruned in fp32 (the GGUF source is dequantised on load), then quantised: `rtn` rounds each block of "
      "32 weights to nearest exactly as `llama-quantize` does (bit-identical blocks, tested against gguf-py); `gptq` is "
      "GPTQ on the calibration Hessians (for SparseGPT, the joint pass of its paper). Block linears and the LM head are "
      "quantised (the head as Q8_0 for Q4_0, where llama-quantize uses Q6_K); the embedding lookup stays fp32 in memory "
      "and is written in the file's type. Perplexity is evaluated in the quantised execution format (the kernels read "
      "the blocks). Disk = the GGUF file written; fp16 = 2 bytes x "
      f"{dense_params:,} parameters = {fp16_bytes / 1e6:.1f} MB. Speed: `prunelab bench --vs dense` alternates this model "
      "with the fp32 dense model in one process; tokens/s are this model's medians, the ratios medians of per-pair ratios.\n")
    w("## Size and speed\n")
    w("| model | format run | GGUF on disk (MB) | vs fp16 | in memory (MB) | prefill tok/s | decode tok/s | prefill vs fp32 | decode vs fp32 |")
    w("|---|---|---|---|---|---|---|---|---|")
    for n, run, bench, ppl in rows:
        disk = run.get("gguf_bytes") or 0
        w(f"| {LABELS.get(n, n)} | {bench['format']} {json.dumps(bench['format_counts'])} | {disk / 1e6:.1f} | "
          f"{fp16_bytes / disk if disk else float('nan'):.2f}x | {bench['model_bytes'] / 1e6:.1f} | "
          f"{bench['prefill_tokens_per_s']:.1f} | {bench['decode_tokens_per_s']:.1f} | "
          f"{bench.get('speedup_prefill', float('nan')):.2f}x | {bench.get('speedup_decode', float('nan')):.2f}x |")
    w("")
    w("## Perplexity per language (evaluation split; ratio to the fp32 dense model on the same windows)\n")
    w("| model | " + " | ".join(LANGS) + " |")
    w("|---|" + "---|" * len(LANGS))
    dense = rows[0][3]
    w("| fp32 (dense) | " + " | ".join(f"{dense[l]['perplexity_dense']:.2f}" for l in LANGS) + " |")
    for n, run, bench, ppl in rows[1:]:
        w(f"| {LABELS.get(n, n)} | " + " | ".join(
            f"{ppl[l]['perplexity']:.2f} ({ppl[l]['perplexity'] / ppl[l]['perplexity_dense']:.3f})" for l in LANGS) + " |")
    w("")
    w("## The seed's 4.7x beside the measurement\n")
    w("The seed: \"pruning LLaMA-7B to 40% sparsity and then quantizing to 4-bit can shrink the model by 4.7x\" (vs fp16). "
      "GGUF stores zeros: unstructured sparsity saves no bytes in a Q4_0 file, so here only quantisation (and structured "
      "removal) shrinks the file.\n")
    w("| claim / measurement | compression vs fp16 |")
    w("|---|---|")
    w("| seed: LLaMA-7B, 40% sparsity + 4-bit | 4.7x |")
    for n, run, bench, ppl in rows:
        disk = run.get("gguf_bytes") or 0
        if n in ("wanda50-q4_0", "q4_0", "fasp25-q8_0", "wanda50-q4_0-gptq"):
            w(f"| measured: {LABELS.get(n, n)} (GGUF file) | {fp16_bytes / disk:.2f}x |")
    w("")
    w("Raw JSON of every run: `" + a.work + "` when the script ran; every run is also in MLflow (experiment "
      "`prunelab-cli`).\n")
    with open(a.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
