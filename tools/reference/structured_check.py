"""Loads a structurally pruned model that prunelab exported and checks that transformers agrees with prunelab.

Issue 4's acceptance (d): a uniform structured prune (e.g. fasp --sparsity 0.25) is saved as a standard
Hugging Face Llama checkpoint (smaller intermediate_size, num_attention_heads, num_key_value_heads,
num_hidden_layers). This script loads DIR with AutoModelForCausalLM (fp32, eager attention, CPU), replays the
evaluation windows prunelab wrote (DIR/eval_ids.json, from `prunelab prune --eval`), and compares the perplexity
with the one in DIR/prune_report.json; it exits 1 if they differ by more than --tolerance (relative, default 0.5%).
It prints one JSON line with both numbers and the config transformers read.

    ./prunelab prune --method fasp --sparsity 0.25 --nsamples 32 --seqlen 512 --out DIR --eval brown --eval-windows 8
    /work/scratch/refvenv/bin/python tools/reference/structured_check.py DIR [--threads 2]

A non-uniform result (config.json with "prunelab_layer_sizes") or a low-rank one cannot be loaded by
transformers; the script says so and exits 2.
"""
import argparse
import json
import sys
from pathlib import Path

import reflib  # first: hides GPUs before torch loads
import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="prunelab prune --out DIR (structured, uniform, with --eval)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tolerance", type=float, default=0.005)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    config = json.loads((args.dir / "config.json").read_text(encoding="utf-8"))
    if "prunelab_layer_sizes" in config or config.get("prunelab_low_rank"):
        print(f"{args.dir} is a non-uniform or low-rank prunelab checkpoint; transformers cannot load it", file=sys.stderr)
        sys.exit(2)
    report = json.loads((args.dir / "prune_report.json").read_text(encoding="utf-8"))
    if "perplexity" not in report:
        sys.exit(f"{args.dir}/prune_report.json has no perplexity: run prunelab prune with --eval")
    windows = json.loads((args.dir / "eval_ids.json").read_text(encoding="utf-8"))

    model, _ = reflib.load(args.dir)
    nlls = [reflib.window_nll(model, w) for w in windows]
    ppl = reflib.perplexity(nlls)
    rel = abs(ppl - report["perplexity"]) / ppl
    c = model.config
    result = {"dir": str(args.dir), "method": report.get("method"), "sparsity": report.get("sparsity"),
              "intermediate_size": c.intermediate_size, "num_attention_heads": c.num_attention_heads,
              "num_key_value_heads": c.num_key_value_heads, "num_hidden_layers": c.num_hidden_layers,
              "params": sum(p.numel() for p in model.parameters()),
              "windows": len(windows), "seqlen": len(windows[0]), "perplexity_transformers": ppl,
              "perplexity_prunelab": report["perplexity"], "relative_difference": rel, "tolerance": args.tolerance,
              "versions": reflib.versions()}
    print(json.dumps(result))
    sys.exit(0 if rel <= args.tolerance else 1)


if __name__ == "__main__":
    main()
