"""Prefill speed of transformers' LlamaForCausalLM (torch eager, fp32, CPU) with SmolLM2-135M's shape.

The counterpart of org.prunelab.bench.ForwardBench: random weights, seqlen tokens, median of repeats.
Command (same thread count as the Java run):
    /work/scratch/refvenv/bin/python tools/reference/torch_forward_bench.py --seqlen 512 --threads 2 --repeats 5
"""
import argparse
import statistics
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                      num_key_value_heads=3, head_dim=64, vocab_size=49152, max_position_embeddings=8192,
                      rms_norm_eps=1e-5, rope_theta=100000.0, tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg).to(torch.float32).eval()
    ids = torch.randint(0, cfg.vocab_size, (1, args.seqlen))
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} attn={model.config._attn_implementation} seqlen={args.seqlen}")
    for name, kwargs in [("logits(all)", {}), ("logits(last)", {"logits_to_keep": 1})]:
        times = []
        with torch.no_grad():
            for i in range(args.repeats + 2):
                t0 = time.perf_counter()
                model(ids, use_cache=False, **kwargs)
                if i >= 2:  # two warm-up passes
                    times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(f"{name:15s} median {med:.3f} s (min {min(times):.3f})  {args.seqlen / med:.1f} tokens/s")


if __name__ == "__main__":
    main()
