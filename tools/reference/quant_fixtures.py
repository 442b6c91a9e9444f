"""Reference fixtures for prunelab's Q8_0 / Q4_0 round-to-nearest quantisers (core/src/test/resources/fixtures/quant/).

Made with:

    tools/reference/.venv/bin/python tools/reference/quant_fixtures.py \
        --gguf ~/.cache/prunelab/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf \
        --out core/src/test/resources/fixtures/quant/rtn.json

(any Python with numpy and gguf 0.19 works; no torch.) Without --gguf the real-weight case is left out.

``gguf.quants.quantize`` is gguf-py's numpy port of ggml's ``quantize_row_q8_0_ref`` / ``quantize_row_q4_0_ref``
(fp32 arithmetic, roundf = half away from zero, fp16 scale rounded to nearest even). The script quantises a list
of deterministic inputs with it and records, per case:

    values_f32le_b64   the input, little-endian float32, a whole number of 32-value blocks
    q8_0_b64, q4_0_b64 the block bytes gguf makes of it (34 / 18 bytes a block)
    q8_0_dequant_sha256, q4_0_dequant_sha256
                       SHA-256 of ``gguf.quants.dequantize`` of those bytes as little-endian float32 (the Java test
                       dequantises the committed bytes and hashes its own result)

The inputs are either spelled out (ties at .5, a zeros block, huge and tiny magnitudes, a negative signed maximum,
fp16-subnormal and fp16-overflowing scales) or drawn from numpy's PCG64 with a fixed seed, and stored, so the
Java test does not need numpy's generator. The real-weight cases are row 0 of blk.0.attn_q.weight (576 values) and the
first 128 values of row 0 of blk.0.ffn_down.weight of the SmolLM2-135M-Instruct Q4_1 GGUF, dequantised by gguf (values of the form q*d+m).

Known corner left out: a block of negative zeros. ggml starts its signed maximum at +0.0f and so writes d = -0.0
(0x8000) for any all-zero block; gguf-py takes the first element, so a block of -0.0 gets d = +0.0 there. prunelab
follows ggml (QuantTypeTest covers it by hand).
"""
import argparse
import base64
import hashlib
import importlib.metadata
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.quants import dequantize, quantize

BLOCK = 32


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype="<f4").tobytes()).hexdigest()


def block(values) -> np.ndarray:
    """One 32-value block: the given values, then zeros."""
    v = np.zeros(BLOCK, dtype=np.float32)
    v[: len(values)] = np.asarray(values, dtype=np.float32)
    return v


def spelled_cases() -> dict:
    ramp = np.arange(BLOCK, dtype=np.float32)
    cases = {
        "zeros": block([]),
        # Q8_0: amax 127 gives d = 1 and id = 1, so x * id is x itself: every .5 is a roundf tie.
        "q8_ties": block([127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5, 63.5, -63.5, 0.49999997, -0.49999997]),
        # Q4_0: signed max -8 gives d = 1, id = 1: x + 8.5 is an integer for every .5, and 7.5 + 8.5 = 16 is clamped.
        "q4_ties": block([-8, 7.5, -7.5, 0.5, -0.5, 3.5, -3.5, 7.0, 6.5, -0.0, 7.9999995]),
        # Signed max +8 (positive): d = -1, id = -1.
        "q4_positive_max": block([8, -7.5, -8, 0.5, -0.5, 7.5, 1.5]),
        # |-5| and |5| tie for the absolute maximum: ggml and numpy both keep the first (negative here).
        "amax_tie_negative_first": block([1, -5, 5, 2.5, -2.5, 0.25]),
        "amax_tie_positive_first": block([1, 5, -5, 2.5, -2.5, 0.25]),
        "negative_max": ramp * -0.37,
        "huge": (ramp - 15.5) * 1.5e5,  # amax 2.4e6: d = 18307 (Q8_0), a normal fp16
        "fp16_overflow": (ramp - 15.5) * 6e5,  # amax 9.3e6: Q8_0 d = 73228 and Q4_0 d = 1.16e6 are beyond fp16 (inf)
        "fp16_subnormal_scale": (ramp - 15.5) * 3e-7,  # amax 4.65e-6: d = 3.7e-8 (Q8_0) is a subnormal fp16
        "fp16_scale_underflow": (ramp - 15.5) * 2e-10,  # d rounds to 0 in fp16, the quants still use the fp32 d
        "tiny_normal": (ramp - 15.5) * 1e-30,  # fp32 arithmetic far below fp16's range; 1/d still finite
        "single_outlier": block([0.01 * i for i in range(1, 32)] + [40.0])[::-1].copy(),
    }
    return cases


def random_cases(rng: np.random.Generator) -> dict:
    return {
        "gaussian": rng.standard_normal(4 * BLOCK).astype(np.float32) * np.float32(0.05),
        "uniform": rng.uniform(-1, 1, 2 * BLOCK).astype(np.float32),
        "heavy_tailed": rng.standard_t(2, 2 * BLOCK).astype(np.float32),
        "mixed_scales": (rng.standard_normal(4 * BLOCK) * np.repeat(10.0 ** rng.uniform(-6, 4, 4), BLOCK)).astype(
            np.float32),
    }


def real_cases(path: str) -> dict:
    reader = GGUFReader(path)
    out = {}
    for name, keep in (("blk.0.attn_q.weight", 576), ("blk.0.ffn_down.weight", 128)):
        t = next(t for t in reader.tensors if t.name == name)
        row = dequantize(np.asarray(t.data)[0:1], t.tensor_type).reshape(-1)[:keep].astype(np.float32)
        out[f"smollm2_{name.replace('.', '_')}_row0_first{keep}"] = row
    return out


def case(values: np.ndarray) -> dict:
    assert values.dtype == np.float32 and values.ndim == 1 and values.size % BLOCK == 0
    out = {"values_f32le_b64": b64(values.astype("<f4"))}
    rows = values.reshape(1, -1)
    with np.errstate(over="ignore"):
        for qtype, key in ((T.Q8_0, "q8_0"), (T.Q4_0, "q4_0")):
            raw = quantize(rows, qtype).reshape(-1).astype(np.uint8)
            out[key + "_b64"] = b64(raw)
            out[key + "_dequant_sha256"] = sha(dequantize(raw.reshape(1, -1), qtype).reshape(-1).astype(np.float32))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gguf", help="SmolLM2-135M-Instruct Q4_1 GGUF for the real-weight rows (optional)")
    p.add_argument("--out", required=True)
    args = p.parse_args()

    rng = np.random.default_rng(20250613)
    inputs = spelled_cases() | random_cases(rng)
    if args.gguf:
        inputs |= real_cases(args.gguf)
    doc = {
        "made_by": "tools/reference/quant_fixtures.py",
        "gguf_version": importlib.metadata.version("gguf"),
        "numpy_version": np.__version__,
        "cases": {name: case(np.asarray(v, dtype=np.float32)) for name, v in inputs.items()},
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {len(doc['cases'])} cases, {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
