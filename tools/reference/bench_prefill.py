"""Prefill throughput of transformers + torch (eager mode, no torch.compile) on CPU in fp32.

The baseline prunelab's own prefill and SGEMM numbers are compared with. Prints one JSON line per result.
  prefill: batch 1, `--seqlen` tokens, use_cache=False, median tokens/s over `--repeat` timed passes
  --sgemm: torch.matmul on SmolLM2-135M's linear shapes with T=--seqlen rows, GFLOP/s = 2*T*in*out / s
  --serve: load and warm up, print {"ready": ...}, then run one timed prefill pass per line "prefill" read on
           stdin and print {"seconds": s} for each; ends at end of input. `prunelab bench forward --vs-torch`
           uses this to alternate its own passes with torch's, so both see the same machine load.

  tools/reference/.venv/bin/python tools/reference/bench_prefill.py --threads 2
  tools/reference/.venv/bin/python tools/reference/bench_prefill.py --threads 2 --sgemm
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import reflib  # first: hides GPUs before torch loads
import torch

# (in_features, out_features) of SmolLM2-135M's linears: hidden 576; k_proj/v_proj 3 KV heads x 64 = 192;
# MLP intermediate 1536 (gate/up 576->1536, down 1536->576); tied LM head 576->49152.
SGEMM_SHAPES = [(576, 576), (576, 192), (576, 1536), (1536, 576), (576, 49152)]


def timed(fn, warmup: int, repeat: int) -> list[float]:
    """Seconds of each of `repeat` calls after `warmup` untimed ones (first calls pay allocation/packing)."""
    for _ in range(warmup):
        fn()
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return seconds


@torch.no_grad()
def bench_prefill(args) -> dict:
    model, _ = reflib.load(args.model, attn=args.attn)
    # Token values do not change the work of a dense forward pass; fixed seed for repeatability.
    ids = torch.randint(0, model.config.vocab_size, (1, args.seqlen), generator=torch.Generator().manual_seed(0))
    seconds = timed(lambda: model(ids, use_cache=False), args.warmup, args.repeat)
    return {"impl": "torch", "mode": "prefill", "threads": torch.get_num_threads(), "seqlen": args.seqlen,
            "batch": 1, "attn_implementation": args.attn, "dtype": "float32",
            "tokens_per_s_median": args.seqlen / statistics.median(seconds),
            "tokens_per_s_best": args.seqlen / min(seconds),
            "seconds": [round(s, 4) for s in seconds], "torch": torch.__version__}


@torch.no_grad()
def serve_prefill(args) -> None:
    model, _ = reflib.load(args.model, attn=args.attn)
    ids = torch.randint(0, model.config.vocab_size, (1, args.seqlen), generator=torch.Generator().manual_seed(0))
    timed(lambda: model(ids, use_cache=False), args.warmup, 0)
    print(json.dumps({"ready": True, "impl": "torch", "threads": torch.get_num_threads(), "seqlen": args.seqlen,
                      "attn_implementation": args.attn, "dtype": "float32", "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if line.strip() != "prefill":
            print(json.dumps({"error": f"unknown request {line.strip()!r}; send 'prefill'"}), flush=True)
            continue
        start = time.perf_counter()
        model(ids, use_cache=False)
        print(json.dumps({"seconds": time.perf_counter() - start}), flush=True)


@torch.no_grad()
def bench_sgemm(args) -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    results = []
    for in_f, out_f in SGEMM_SHAPES:
        x = torch.randn(args.seqlen, in_f, generator=gen)
        w = torch.randn(out_f, in_f, generator=gen)  # [out, in] like nn.Linear and prunelab's FloatMatrix
        # Small shapes take about a millisecond: loop each timed sample to >= ~50 ms so the
        # scheduler's noise (shared cores) averages out; seconds are reported per product.
        once = min(timed(lambda: torch.matmul(x, w.t()), args.warmup, 3))
        inner = max(1, math.ceil(0.05 / once))
        seconds = [s / inner for s in timed(lambda: [torch.matmul(x, w.t()) for _ in range(inner)], 1, args.repeat)]
        flops = 2.0 * args.seqlen * in_f * out_f
        results.append({"impl": "torch", "mode": "sgemm", "threads": torch.get_num_threads(),
                        "m": args.seqlen, "k": in_f, "n": out_f,
                        "gflops_median": flops / statistics.median(seconds) / 1e9,
                        "gflops_best": flops / min(seconds) / 1e9,
                        "seconds": [round(s, 6) for s in seconds], "torch": torch.__version__})
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=reflib.default_gguf(), help="GGUF file or Hugging Face folder")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"],
                    help="attention kernel; sdpa is transformers' default, eager the literal math")
    ap.add_argument("--sgemm", action="store_true", help="time torch.matmul on the model's linear shapes instead")
    ap.add_argument("--serve", action="store_true", help="one timed prefill pass per 'prefill' line on stdin")
    args = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    if args.serve:
        serve_prefill(args)
        return
    for result in bench_sgemm(args) if args.sgemm else [bench_prefill(args)]:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
