"""compressed-tensors' sparse-bitmask format against prunelab's writer and reader (io/SparseBitmaskWriter,
io/SparseBitmaskTensors).

Needs compressed-tensors 0.14.0.1: the last release with the sparse-bitmask compressor (0.15 removed the sparse
compressors; 0.20 writes "sparsity is removed for now"). Its wheel declares transformers<5, but the compressor code
used here runs with the reference venv's transformers 5.24; install it beside that venv without dependencies:

    python3 -m venv /tmp/ct-venv
    echo "$PWD/tools/reference/.venv/lib/python3.11/site-packages" > /tmp/ct-venv/lib/python3.11/site-packages/ref.pth
    /tmp/ct-venv/bin/pip install --no-deps compressed-tensors==0.14.0.1 loguru==0.7.3

Commands:

  check SPARSE_DIR DENSE_DIR
      (a) SPARSE_DIR was written by prunelab (SparseBitmaskWriter) from the dense checkpoint DENSE_DIR. Parses its
      config.json's quantization_config with the library (ModelCompressor.from_compression_config), decompresses every
      tensor with the library's BitmaskCompressor.decompress and compares each with DENSE_DIR's tensor bit for bit;
      then compresses DENSE_DIR's tensors with the library and compares every part tensor (shape, compressed,
      bitmask, row_offsets) with prunelab's, dtype, shape and bytes. Exits non-zero on any difference.

  fixture OUT_DIR
      (b) Writes the Java reader's fixture: a small state dict compressed by the library (model.safetensors,
      config.json from ModelCompressor.update_config) and the dense tensors it encodes (expected.safetensors).
"""

import json
import os
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from compressed_tensors import __version__ as ct_version
from compressed_tensors.compressors import BitmaskCompressor, ModelCompressor
from compressed_tensors.config import BitmaskConfig

PARTS = ("shape", "compressed", "bitmask", "row_offsets")


def load_dir(d):
    path = os.path.join(d, "model.safetensors")
    with safe_open(path, framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def bits(t):
    """The tensor's raw bytes as a flat uint8 tensor (bit-for-bit comparison, signed zeros and NaNs included)."""
    return t.contiguous().view(torch.uint8).flatten()


def element_bits(t):
    """Each element's bit pattern as an integer tensor of the same width."""
    width = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    return t.contiguous().view(width).flatten()


def check(sparse_dir, dense_dir):
    config = json.load(open(os.path.join(sparse_dir, "config.json")))
    qc = config["quantization_config"]
    compressor = ModelCompressor.from_compression_config(dict(qc))
    assert compressor is not None and compressor.sparsity_config.format == "sparse-bitmask", qc
    assert isinstance(compressor.sparsity_compressor, BitmaskCompressor), type(compressor.sparsity_compressor)
    print(f"compressed-tensors {ct_version}: config parsed: {compressor.sparsity_config}")

    dense = load_dir(dense_dir)
    # (a.1) the library decompresses prunelab's folder: every tensor equals the dense checkpoint's, bit for bit
    decompressed = dict(compressor.sparsity_compressor.decompress(sparse_dir))
    failures = []
    if set(decompressed) != set(dense):
        failures.append(f"names differ: only decompressed {sorted(set(decompressed) - set(dense))[:5]}, "
                        f"only dense {sorted(set(dense) - set(decompressed))[:5]}")
    signed_zeros = 0
    compared = 0
    for name in sorted(set(decompressed) & set(dense)):
        a, b = decompressed[name], dense[name]
        if a.dtype != b.dtype or a.shape != b.shape:
            failures.append(f"{name}: {a.dtype} {tuple(a.shape)} vs dense {b.dtype} {tuple(b.shape)}")
            continue
        compared += 1
        differ = element_bits(a) != element_bits(b)
        if differ.any():
            # the format cannot hold -0.0 (the library keeps entries with tensor != 0): count those apart
            negative_zero = ((b == 0) & torch.signbit(b)).flatten()
            signed_zeros += (differ & negative_zero).sum().item()
            if (differ & ~negative_zero).any():
                failures.append(f"{name}: {(differ & ~negative_zero).sum().item()} elements differ")
    print(f"(a) decompressed by the library: {compared} tensors compared bit for bit with {dense_dir}, "
          f"{len(failures)} differ, {signed_zeros} dense -0.0 entries read back as +0.0")

    # (a.2) the library compresses the dense tensors the same way: every part tensor identical to prunelab's
    sparse = load_dir(sparse_dir)
    targets = {k[: -len(".bitmask")] for k in sparse if k.endswith(".bitmask")}
    mine = BitmaskCompressor(config=compressor.sparsity_config).compress(dense, compression_targets=targets)
    if set(mine) != set(sparse):
        failures.append(f"tensor names differ from the library's compress: "
                        f"{sorted(set(mine) ^ set(sparse))[:6]}")
    same = 0
    for name in sorted(set(mine) & set(sparse)):
        a, b = mine[name], sparse[name]
        if a.dtype != b.dtype or tuple(a.shape) != tuple(b.shape) or not torch.equal(bits(a), bits(b)):
            failures.append(f"{name}: library {a.dtype} {tuple(a.shape)} vs prunelab {b.dtype} {tuple(b.shape)}")
        else:
            same += 1
    print(f"(a) compressed by the library: {same} of {len(sparse)} tensors identical to prunelab's "
          f"({len(targets)} weights in sparse-bitmask form)")

    dense_bytes = os.path.getsize(os.path.join(dense_dir, "model.safetensors"))
    sparse_bytes = os.path.getsize(os.path.join(sparse_dir, "model.safetensors"))
    print(f"model.safetensors: dense {dense_bytes} bytes, sparse-bitmask {sparse_bytes} bytes "
          f"({sparse_bytes / dense_bytes:.3f})")
    for f in failures[:20]:
        print("DIFF", f)
    if failures:
        sys.exit(1)
    print("OK")


def fixture(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(13)
    # fp32 [5, 13]: unstructured zeros, an all-zero row, a full row, 13 columns (2 bitmask bytes, 3 bits of padding)
    down = torch.randn(5, 13, generator=g)
    down[torch.rand(5, 13, generator=g) < 0.5] = 0
    down[1] = 0
    down[3] = torch.randn(13, generator=g)
    # bf16 [4, 16] 2:4: two survivors in every group of 4
    q = torch.randn(4, 16, generator=g)
    keep = torch.rand(4, 4, 4, generator=g).argsort(dim=-1) < 2
    q = torch.where(keep, q.view(4, 4, 4), 0.0).view(4, 16).to(torch.bfloat16)  # +0.0: the format drops -0.0's sign
    state = {
        "model.layers.0.mlp.down_proj.weight": down,
        "model.layers.0.self_attn.q_proj.weight": q,
        "model.norm.weight": torch.randn(13, generator=g),
    }
    targets = {"model.layers.0.mlp.down_proj", "model.layers.0.self_attn.q_proj"}
    config = BitmaskConfig(global_sparsity=0.5, sparsity_structure="unstructured", targets=["Linear"], ignore=[])
    compressed = BitmaskCompressor(config=config).compress(state, compression_targets=targets)
    save_file(compressed, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    save_file(state, os.path.join(out_dir, "expected.safetensors"), metadata={"format": "pt"})
    json.dump({"model_type": "llama"}, open(os.path.join(out_dir, "config.json"), "w"))
    ModelCompressor(sparsity_config=config).update_config(out_dir)
    for k, v in compressed.items():
        print(k, v.dtype, tuple(v.shape))
    print(f"wrote {out_dir} with compressed-tensors {ct_version}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
