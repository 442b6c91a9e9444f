#!/usr/bin/env python3
"""Writes results/scale.md from scale_bench.sh measurements: predicted (prune --dry-run) vs measured peak RSS and
seconds per block, per point, and the 128 x 2048 predictions for the 7B shapes.

    tools/scale/scale_report.py OUT.md RUN.jsonl [RUN.jsonl ...]

Environment: PRUNELAB (the launcher; default this checkout's), COMMAND (the command line to name in the report).
"""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PRUNELAB = os.environ.get("PRUNELAB", os.path.join(ROOT, "prunelab"))

SHAPES = {"tiny": "0.04B synthetic Llama (512 x 4, MLP 1024, vocab 32000, untied): the memory model puts its peak at the save of the untied LM head",
          "llama-1b": "1B shape (Llama, 2048 x 16, MLP 8192, GQA 32/8, vocab 128256, tied)",
          "llama2-7b": "Llama-2-7B shape (4096 x 32, MLP 11008, 32 heads, vocab 32000)",
          "qwen2-7b": "Qwen2-7B shape (3584 x 28, MLP 18944, GQA 28/4, q/k/v biases, vocab 152064)",
          "smollm2-135m": "SmolLM2-135M (real weights)"}


def label(model):
    base = os.path.basename(model)
    for k in SHAPES:
        if k in base:
            # A model with the shape's widths but fewer blocks (synth --layers N, file name -Nl): the same memory per block.
            few = re.search(r"-(\d+)l\.", base)
            return k + (f", {few.group(1)} block{'s' if few.group(1) != '1' else ''}" if few else "")
    return base


def dry_run(model, method, nsamples, seqlen, extra):
    cmd = [PRUNELAB, "prune", "--model", model, "--method", method, "--nsamples", str(nsamples), "--seqlen", str(seqlen),
           "--streaming", "--dry-run", "--json", "--no-track"] + extra.split()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def gb(b):
    return f"{b / 1e9:.2f}"


def main():
    out_path, runs = sys.argv[1], sys.argv[2:]
    points = []
    for r in runs:
        with open(r) as f:
            points += [json.loads(line) for line in f if line.strip()]
    rows = []
    for p in points:
        if p["status"] != "ok":
            rows.append((p, None))
            continue
        rows.append((p, dry_run(p["model"], p["method"], p["nsamples"], p["seqlen"], p["extra"])))
    commits = sorted({p["commit"] for p in points})
    lines = ["# Streaming pruning at scale: predicted vs measured peak memory, time per block", "",
             f"Made by `{os.environ.get('COMMAND', 'tools/scale/run_scale.sh')}`: measurements by tools/scale/scale_bench.sh "
             f"(prunelab at commit {', '.join(commits)}), predictions by `prunelab prune --dry-run` at commit "
             f"`{subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}`.",
             "Every run is `prunelab prune --streaming` (blocks dequantised from the memory-mapped GGUF one at a time, each"
             " pruned block written to its safetensors shard and dropped) on a 2-core, 24 GiB machine. The 1B and 7B models"
             " are seeded random weights in the real shapes (`prunelab synth`, tools/scale/make_models.sh): they are for"
             " memory and time only, and no quality number comes from them.", "",
             "Measured peak RSS is the kernel's maximum resident set of the whole process (GNU time's maxrss, the same as"
             " VmHWM), not the Java heap. Seconds per block = prune seconds / blocks; it moves with the machine's load"
             " (1-minute load average before and after each run in the table; other work shared the machine).", "",
             "Rows marked \"N blocks\" ran a model with the shape's widths, embedding and vocabulary but N of its"
             " blocks (`prunelab synth --layers N`, tools/scale/make_models.sh): every block is the same size, so the peak"
             " is the full model's, and a full run takes (blocks of the shape / N) times as long; the memory model predicts"
             " both the same.", "",
             "| model | method | nsamples x seqlen | predicted peak GB | measured peak GB | error | s / block | load before / after |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    worst = 0.0
    for p, d in rows:
        name = label(p["model"])
        calib = f"{p['nsamples']} x {p['seqlen']}" + (f" (stopped after {p['blocks_run']} block(s): peak = VmHWM then)" if "blocks_run" in p else "")
        if d is None:
            lines.append(f"| {name} | {p['method']} | {calib} | | failed | | | {p['load_before']} / {p['load_after']} |")
            continue
        pred, meas = d["predicted_peak_rss_bytes"], p["maxrss_bytes"]
        err = (pred - meas) / meas
        worst = max(worst, abs(err))
        # A run stopped after some blocks (its peak, the kernel's VmHWM then, is every block's) names how many ran.
        per_block = p["prune_seconds"] / p.get("blocks_run", d["num_hidden_layers"])
        lines.append(f"| {name} | {p['method']} {p['extra'].replace('--sparsity ', '')} | {calib} | {gb(pred)} | {gb(meas)} |"
                     f" {100 * err:+.1f}% | {per_block:.1f} | {p['load_before']} / {p['load_after']} |")
    lines += ["", f"Largest prediction error: {100 * worst:.1f}% of the measured peak.", ""]
    superseded = os.environ.get("SUPERSEDED")
    if superseded and os.path.exists(superseded):
        with open(superseded) as f:
            old = [json.loads(line) for line in f if line.strip()]
        lines += ["## Measured before the code they ran changed", "",
                  "These points ran code that has changed since in a way that moves the peak (the reason per row), so they"
                  " check the memory model of that code, not today's; today's code is measured in the table above.", "",
                  "| model | method | nsamples x seqlen | measured peak GB | at commit | superseded by |",
                  "|---|---|---|---:|---|---|"]
        for p in old:
            reason = p.get("superseded_by", "commit 2c73602: SparseGPT factors each input group's Hessian in place on its"
                                             " last use (no n x n array allocated for o_proj and down_proj)")
            lines.append(f"| {label(p['model'])} | {p['method']} | {p['nsamples']} x {p['seqlen']} | {gb(p['maxrss_bytes'])} |"
                         f" {p['commit']} | {reason} |")
        lines.append("")
    lines += ["## The paper's calibration (128 x 2048 tokens) on the 7B shapes, predicted", "",
              "| model | method | predicted peak GB | of which the method's state GB | activation file on disk GB |",
              "|---|---|---:|---:|---:|"]
    for shape in ("llama2-7b", "qwen2-7b"):
        model = next((re.sub(r"-\d+l\.", ".", p["model"]) for p in points if label(p["model"]).startswith(shape)), None)
        if model is None or not os.path.exists(model):
            continue
        for method, sparsity in (("wanda", "0.5"), ("sparsegpt", "0.5"), ("fasp", "0.25")):
            d = dry_run(model, method, 128, 2048, "--sparsity " + sparsity)
            lines.append(f"| {shape} | {method} {sparsity} | {gb(d['predicted_peak_rss_bytes'])} | {gb(d['terms']['method'])} |"
                         f" {gb(d['activation_cache_file_bytes'])} |")
    lines += ["", "The seed: \"Wanda's activation caching eats memory like crazy ... needed 35GB extra RAM on LLaMA-7B - more"
              " than the model itself\" (25-35 GB extra). Streamed, the calibration activations go to a file"
              " (nsamples x seqlen x hidden fp32, 4.3 GB for 128 x 2048 on Llama-2-7B) and only one block's weights are in"
              " memory, so the whole process stays at the sizes above.", "",
              "## The memory model", "",
              "Predicted peak = runtime + young + embedding + lm_head + weights + dequantize + activations + method"
              " (prunelab/core/src/main/java/org/prunelab/prune/MemoryModel.java documents each term; `prune --dry-run`"
              " prints them). Every term but one is counted from the code's allocations; the runtime term (150 MB: what is"
              " resident outside the Java heap) is measured with `tools/scale/heapsplit.py`, which samples the resident"
              " pages of the process's mappings every second and splits them into the Java heap's and the rest: on a"
              " streamed SmolLM2-135M Wanda prune (16 x 256) the rest peaked at 148.8 MB (heap 210.6 MB at the same"
              " sample). The shapes:", ""]
    for k, v in SHAPES.items():
        lines.append(f"- `{k}`: {v}")
    lines.append("")
    with open(out_path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
