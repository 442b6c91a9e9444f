"""Reference logits of tiny random LlamaForCausalLM models, for prunelab's forward-pass faithfulness test.

For each variant, writes under core/src/test/resources/fixtures/tiny-llama/<variant>/:
  config.json    the transformers config (Hugging Face key names)
  tensors.json   [{"name", "shape", "offset"}] : every state_dict tensor, offset in floats into weights.bin
  weights.bin    all tensors, float32 little-endian, concatenated in tensors.json order
  tokens.json    the input token ids
  logits.bin     LlamaForCausalLM(tokens).logits[0], float32 little-endian, [T, vocab]

Variants: "gqa-tied" (4 query heads / 2 KV heads, tied embeddings, default RoPE) and "llama3-bias"
(4 / 1 heads, untied LM head, attention and MLP biases, rope_scaling llama3 with a short original context
so that all three frequency bands occur). Weights are N(0, 0.2) and norm gains 1 + N(0, 0.1) so that
attention patterns and norms are far from trivial.

Command (from the repository root; CPU, fp32, deterministic):
    /work/scratch/refvenv/bin/python tools/reference/tiny_llama_fixture.py
"""
import json
import pathlib

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

OUT = pathlib.Path(__file__).resolve().parents[2] / "core/src/test/resources/fixtures/tiny-llama"

COMMON = dict(hidden_size=32, intermediate_size=48, num_hidden_layers=2, head_dim=8, vocab_size=50,
              max_position_embeddings=64, rms_norm_eps=1e-5)

VARIANTS = {
    "gqa-tied": dict(num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True,
                     rope_theta=100000.0),
    "llama3-bias": dict(num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=False,
                        attention_bias=True, mlp_bias=True,
                        rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=4.0,
                                             low_freq_factor=1.0, high_freq_factor=4.0,
                                             original_max_position_embeddings=8)),
}


def build(name, extra, seed):
    torch.manual_seed(seed)
    cfg = LlamaConfig(**COMMON, **extra)
    model = LlamaForCausalLM(cfg).to(torch.float32).eval()
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if pname.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    tokens = torch.randint(0, cfg.vocab_size, (1, 24), generator=torch.Generator().manual_seed(seed + 1))
    with torch.no_grad():
        logits = model(tokens, use_cache=False).logits[0]

    out = OUT / name
    out.mkdir(parents=True, exist_ok=True)
    cfg.to_json_file(out / "config.json")
    entries, blobs, offset = [], [], 0
    for tname, t in model.state_dict().items():
        if tname == "lm_head.weight" and cfg.tie_word_embeddings:
            continue  # tied: the same storage as model.embed_tokens.weight
        a = t.detach().numpy().astype("<f4")
        entries.append({"name": tname, "shape": list(a.shape), "offset": offset})
        blobs.append(a.ravel())
        offset += a.size
    (out / "tensors.json").write_text(json.dumps(entries, indent=1))
    np.concatenate(blobs).astype("<f4").tofile(out / "weights.bin")
    (out / "tokens.json").write_text(json.dumps(tokens[0].tolist()))
    logits.numpy().astype("<f4").tofile(out / "logits.bin")
    print(f"{name}: {offset} weights, logits {tuple(logits.shape)} -> {out}")


def main():
    for i, (name, extra) in enumerate(VARIANTS.items()):
        build(name, extra, seed=1234 + 10 * i)


if __name__ == "__main__":
    main()
