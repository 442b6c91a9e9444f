"""Reference fixtures for prunelab's GPTQ to GGUF grids and SparseGPT's joint prune + quantise
(org.prunelab.prune.GptqQuantizer, SparseGptPruner.pruneAndQuantize).

An independent torch re-implementation, in float64, of the reference algorithms, written from the papers and
the public reference code's semantics (not copied):

* GPTQ (Frantar et al., ICLR 2023), IST-DASLab/gptq `gptq.py` GPTQ.fasterquant(blocksize=128, percdamp=.01,
  groupsize=32, actorder=False, static_groups=False): dead inputs (H_jj = 0) get H_jj = 1 and a zero weight
  column; damp = percdamp * mean(diag H); Hinv = upper Cholesky factor of (H + damp I)^-1, computed as the
  reference does (cholesky, cholesky_inverse, cholesky upper); blocks of 128 columns, the block copied to W1, each
  column rounded and its error (w - q) / Hinv_jj subtracted from the block's later columns with row j of Hinv,
  then W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:] (lazy batch update). With groupsize, when the sweep reaches a column j
  with j % groupsize == 0 the quantiser's parameters are found on W[:, j:j+groupsize], the *matrix W*, which holds
  the lazy updates of the earlier blocks but not the current block's in-block updates (those go to W1). We keep
  that exactly.
* SparseGPT joint mode (Frantar & Alistarh, ICML 2023, Sec. 3.5), IST-DASLab/sparsegpt `sparsegpt.py`
  fasterprune with `self.quantizer`: in the same sweep, the block's mask (unstructured: one threshold over the
  block's w^2 / Hinv_jj^2 at block start; N:M: per row and group of M from the updated W1 when the sweep reaches
  the group), q = 0 where masked, else quantize(w); the error of both propagated.
* GPTQ of an already pruned matrix with a given mask: fasterprune's `mask` argument; masked weights become
  exactly 0 (quantize(0) = 0 on both grids) and their error is propagated.

The quantiser is GGUF's instead of the reference's min-max one: groups of 32 columns per row, one fp16 scale,
llama.cpp's `quantize_row_q8_0_ref` / `quantize_row_q4_0_ref` rule in float32 (Q8_0: d = amax/127,
q = roundf(x/d); Q4_0: d = (first value of largest magnitude)/-8, q = min(15, (int)(x/d + 8.5f)); the codes use
the float32 1/d, the block stores d rounded to fp16, the value is q*fp16(d) or (q-8)*fp16(d)); codes clamped to
the format's range ([-128, 127], [0, 15]) because GPTQ's updates can push a weight past the group's maximum.
Weights known to be pruned when a group starts (a given mask, the block's unstructured mask) count as 0 for the
scale. The grid is checked here against gguf-py's quantiser (a numpy port of llama.cpp's) on random blocks.

Inputs: seeded synthetic matrices (written to the fixture) and SmolLM2-135M block 0 q_proj / down_proj (first 64
rows) with their real Brown inputs, read from the committed prune fixtures (fixtures/prune/prune.bin, made by
prune_reference.py), so this script needs no model.

Command that produced the committed fixtures (CPU, a few seconds):

    CUDA_VISIBLE_DEVICES="" tools/reference/.venv/bin/python tools/reference/gptq_reference.py \
        --prune-fixtures core/src/test/resources/fixtures/prune --out core/src/test/resources/fixtures/gptq

Output: gptq.bin (little-endian arrays back to back; GGUF block bytes as uint8) and gptq.json (index + cases,
with the layer-wise errors ||WX - QX||^2 of GPTQ and of RTN on the calibration inputs).
"""
import argparse
import json
import os

import numpy as np
import torch

GROUP = 32
BLOCKSIZE = 128
PERCDAMP = 0.01
FORMATS = {"q8_0": 34, "q4_0": 18}


# ----------------------------------------------------------------------------------------------
# the GGUF grid, float32, as llama.cpp's reference quantisers

def roundf(x):
    """C roundf on float32 values: half away from zero (computed in float64, where it is exact)."""
    a = np.abs(x.astype(np.float64))
    return (np.sign(x) * np.floor(a + 0.5)).astype(np.float32)


def find_scale(fmt, G):
    """G: [rows, 32] float32 -> (d float32 [rows], id float32 [rows], d as fp16 bits [rows])."""
    G = G.astype(np.float32)
    if fmt == "q8_0":
        d = (np.abs(G).max(axis=1) / np.float32(127)).astype(np.float32)
    else:
        idx = np.abs(G).argmax(axis=1)                      # first of the largest magnitude
        m = G[np.arange(G.shape[0]), idx].astype(np.float32)
        m = np.where(np.abs(G).max(axis=1) == 0, np.float32(0.0), m)  # llama.cpp starts from +0.0f
        d = (m / np.float32(-8)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    half = d.astype(np.float16)
    return d, inv, half


def codes_of(fmt, x, inv):
    """x: float32 values [rows], inv: float32 [rows] -> integer codes [rows] (clamped to the format)."""
    x0 = (x.astype(np.float32) * inv).astype(np.float32)
    if fmt == "q8_0":
        return np.clip(roundf(x0), -128, 127).astype(np.int64)
    t = (x0 + np.float32(8.5)).astype(np.float32)
    return np.clip(np.trunc(t), 0, 15).astype(np.int64)


def values_of(fmt, q, half):
    dh = half.astype(np.float32)
    v = ((q - 8) if fmt == "q4_0" else q).astype(np.float32) * dh
    return v.astype(np.float32)


def zero_code(fmt):
    return 8 if fmt == "q4_0" else 0


def pack_blocks(fmt, codes, halves):
    """codes [rows, cols] ints, halves [rows, cols/32] fp16 -> GGUF block bytes [rows * cols/32 * blockBytes]."""
    rows, cols = codes.shape
    out = bytearray()
    hb = halves.astype("<f2").view(np.uint8).reshape(rows, cols // GROUP, 2)
    for r in range(rows):
        for g in range(cols // GROUP):
            c = codes[r, g * GROUP:(g + 1) * GROUP]
            out += bytes(hb[r, g])
            if fmt == "q8_0":
                out += c.astype(np.int8).tobytes()
            else:
                out += (c[:16] | (c[16:] << 4)).astype(np.uint8).tobytes()
    return np.frombuffer(bytes(out), dtype=np.uint8)


def rtn(fmt, W):
    """llama.cpp round-to-nearest of a float32 [rows, cols] matrix: (codes, halves, dequantised float32)."""
    W = np.asarray(W, dtype=np.float32)
    rows, cols = W.shape
    codes = np.zeros((rows, cols), dtype=np.int64)
    halves = np.zeros((rows, cols // GROUP), dtype=np.float16)
    for g in range(cols // GROUP):
        G = W[:, g * GROUP:(g + 1) * GROUP]
        _, inv, half = find_scale(fmt, G)
        halves[:, g] = half
        for k in range(GROUP):
            codes[:, g * GROUP + k] = codes_of(fmt, G[:, k], inv)
    deq = np.zeros_like(W)
    for c in range(cols):
        deq[:, c] = values_of(fmt, codes[:, c], halves[:, c // GROUP])
    return codes, halves, deq


def check_grid_against_gguf_py():
    """Our float32 grid == gguf-py's quantiser (a port of llama.cpp's) on random blocks, byte for byte."""
    import gguf
    g = np.random.default_rng(5)
    W = (g.standard_normal((40, 256)) * np.exp(g.standard_normal((40, 1)))).astype(np.float32)
    W[3, :32] = 0
    W[4, 32:64] = 0.5
    W[5, 64:96] = -0.5
    for fmt, qt in (("q8_0", gguf.GGMLQuantizationType.Q8_0), ("q4_0", gguf.GGMLQuantizationType.Q4_0)):
        codes, halves, _ = rtn(fmt, W)
        ours = pack_blocks(fmt, codes, halves)
        theirs = np.asarray(gguf.quants.quantize(W, qt)).reshape(-1)
        differ = np.nonzero(ours != theirs)[0]
        # gguf-py gives an all-zero Q4_0 block d = -(first value)/8 (+0.0 for -0.0); llama.cpp always -0.0f.
        # Our one all-zero block (row 3, block 0) has +0.0 values, where the two agree.
        assert differ.size == 0, (fmt, differ[:10])
        print(f"grid {fmt}: identical to gguf {gguf.__version__ if hasattr(gguf, '__version__') else ''} "
              f"quantize on {W.shape} ({ours.size} bytes)")


# ----------------------------------------------------------------------------------------------
# the sweep (GPTQ and SparseGPT joint), matrix-wise as the reference code

def hessian(X):
    Xd = X.double()
    return (2.0 / X.shape[0]) * (Xd.t() @ Xd)


def select_per_matrix(scores, sparsity):
    if sparsity == 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    flat = torch.sort(scores.flatten())[0]
    k = min(int(scores.numel() * sparsity), scores.numel() - 1)
    return scores <= flat[k]


def select_nm(scores, n, m):
    rows, cols = scores.shape
    g = scores.reshape(rows, cols // m, m)
    idx = torch.sort(g, dim=2, stable=True)[1][:, :, : m - n]
    mask = torch.zeros_like(g, dtype=torch.bool)
    mask.scatter_(2, idx, True)
    return mask.reshape(rows, cols)


def sweep(W, H, fmt, pattern=None, mask=None, blocksize=BLOCKSIZE, percdamp=PERCDAMP):
    """Returns (values float32 [rows, cols], codes, halves, pruned mask). pattern: None, ("unstructured", s), ("nm", n, m)."""
    W = W.double().clone()
    rows, cols = W.shape
    H = H.double().clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * torch.mean(torch.diag(H)) * torch.eye(cols, dtype=torch.float64)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    codes = np.zeros((rows, cols), dtype=np.int64)
    halves = np.zeros((rows, cols // GROUP), dtype=np.float16)
    full_mask = torch.zeros((rows, cols), dtype=torch.bool)
    nm = pattern is not None and pattern[0] == "nm"
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        count = i2 - i1
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        d2 = torch.diag(Hinv1).reshape(1, -1) ** 2
        known = True
        if mask is not None:
            mask1 = mask[:, i1:i2].clone()
        elif pattern is not None and pattern[0] == "unstructured":
            mask1 = select_per_matrix(W1 ** 2 / d2, pattern[1])
        else:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
            known = not nm
        inv = half = None
        for i in range(count):
            if nm and i % pattern[2] == 0:
                m = pattern[2]
                mask1[:, i:i + m] = select_nm(W1[:, i:i + m] ** 2 / d2[:, i:i + m], pattern[1], m)
            if (i1 + i) % GROUP == 0:
                G = W[:, i1 + i:i1 + i + GROUP].clone()          # the reference's W, not W1
                if known:
                    G[mask1[:, i:i + GROUP]] = 0
                _, inv, half = find_scale(fmt, G.float().numpy())
                halves[:, (i1 + i) // GROUP] = half
            w = W1[:, i]
            q = w.clone()
            q[mask1[:, i]] = 0
            c = codes_of(fmt, q.float().numpy(), inv)
            c[mask1[:, i].numpy()] = zero_code(fmt)
            codes[:, i1 + i] = c
            q = torch.from_numpy(values_of(fmt, c, half)).double()
            Q1[:, i] = q
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err.unsqueeze(1) @ Hinv1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
        full_mask[:, i1:i2] = mask1
    return W.float(), codes, halves, full_mask


def layer_error(W, Q, X):
    """||W X^T - Q X^T||_F^2 in float64 (X: [tokens, cols])."""
    D = (W.double() - Q.double()) @ X.double().t()
    return float((D * D).sum())


# ----------------------------------------------------------------------------------------------
# fixture writing

class Store:
    def __init__(self):
        self.blob = bytearray()
        self.arrays = {}

    def put(self, name, array, dtype):
        a = np.ascontiguousarray(array)
        if dtype == "bits":
            data = np.packbits(a.astype(np.uint8).flatten(), bitorder="little").tobytes()
        elif dtype == "u8":
            data = a.astype(np.uint8).tobytes()
        else:
            data = a.astype("<f4").tobytes()
        self.arrays[name] = {"offset": len(self.blob), "length": len(data), "dtype": dtype, "shape": list(a.shape)}
        self.blob += data
        return name


class PruneFixtures:
    """Arrays of fixtures/prune (prune_reference.py's output)."""

    def __init__(self, folder):
        with open(os.path.join(folder, "prune.json")) as fh:
            self.index = json.load(fh)
        with open(os.path.join(folder, "prune.bin"), "rb") as fh:
            self.blob = fh.read()

    def floats(self, name):
        a = self.index["arrays"][name]
        data = np.frombuffer(self.blob, dtype="<f4", count=a["length"] // 4, offset=a["offset"])
        return torch.from_numpy(data.reshape(a["shape"]).copy())


def synthetic(rows, cols, tokens, seed):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(rows, cols, generator=g) * 0.05
    W[:, 7] *= 6                                  # an outlier input column: large weights, groups with big absmax
    scales = torch.exp(torch.randn(cols, generator=g))
    X = torch.randn(tokens, cols, generator=g) * scales
    X[:, 5] = 0                                   # a dead input
    X[:, 40] = X[:, 41] * 0.5 + 0.1 * X[:, 40]    # correlated inputs: error compensation has work to do
    return W, X


def wanda_mask(W, X, sparsity):
    score = W.double().abs() * torch.sqrt((X.double() ** 2).mean(0)).reshape(1, -1)
    k = int(W.shape[1] * sparsity)
    idx = torch.sort(score, dim=1, stable=True)[1][:, :k]
    mask = torch.zeros_like(W, dtype=torch.bool)
    mask.scatter_(1, idx, True)
    return mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prune-fixtures", required=True, help="folder with prune.json / prune.bin")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    check_grid_against_gguf_py()

    store, cases = Store(), []
    layers = {}
    for tag, (r, c, t, seed) in {"small": (64, 96, 256, 11), "wide": (24, 288, 160, 12)}.items():
        W, X = synthetic(r, c, t, seed)
        layers[tag] = (store.put(f"{tag}.weight", W.numpy(), "f32"), store.put(f"{tag}.inputs", X.numpy(), "f32"), W, X)
    pf = PruneFixtures(args.prune_fixtures)
    for name in ("layer0.q_proj.rows64", "layer0.down_proj.rows64"):
        layers[name] = ("prune:" + name + ".weight", "prune:" + name + ".inputs",
                        pf.floats(name + ".weight"), pf.floats(name + ".inputs"))

    def add(tag, fmt, kind, pattern=None, mask=None):
        w_name, x_name, W, X = layers[tag]
        H = hessian(X)
        Q, codes, halves, pruned = sweep(W, H, fmt, pattern=pattern, mask=mask)
        blocks = pack_blocks(fmt, codes, halves)
        label = f"{tag}.{kind}.{fmt}" + ("" if pattern is None else "." + (str(pattern[1]) if pattern[0] == "unstructured"
                                                                              else f"{pattern[1]}:{pattern[2]}"))
        case = {"tag": label, "kind": kind, "format": fmt, "weight": w_name, "inputs": x_name,
                "blocks": store.put(label + ".blocks", blocks, "u8"),
                "error_gptq": layer_error(W, Q, X)}
        if pattern is not None:
            case["pattern"] = pattern[1] if pattern[0] == "unstructured" else f"{pattern[1]}:{pattern[2]}"
        if mask is not None or pattern is not None:
            case["mask"] = store.put(label + ".mask", pruned.numpy(), "bits")
            case["pruned"] = int(pruned.sum())
        # RTN of the same (pruned) matrix: the baseline GPTQ must beat on the calibration inputs.
        base = W.clone()
        if pattern is None and mask is not None:
            base[mask] = 0
        if pattern is None:
            _, _, deq = rtn(fmt, base.numpy())
            case["error_rtn"] = layer_error(W, torch.from_numpy(deq), X)
        # H accumulated in float32 (as the reference does on GPU): how much that rounding alone moves the codes.
        Q32 = sweep32(W, X, fmt, pattern, mask)
        case["float32_hessian_codes_differing"] = int((Q32 != codes).sum())
        cases.append(case)
        print(f"{label:48s} error gptq {case['error_gptq']:.6g}"
              + (f"  rtn {case['error_rtn']:.6g}" if "error_rtn" in case else "")
              + f"  codes moved by a float32 H: {case['float32_hessian_codes_differing']} of {codes.size}")

    def sweep32(W, X, fmt, pattern, mask):
        Xf = X.float()
        H = (2.0 / X.shape[0]) * (Xf.t() @ Xf)
        return sweep(W, H, fmt, pattern=pattern, mask=mask)[1]

    for fmt in FORMATS:
        add("small", fmt, "gptq")
        add("wide", fmt, "gptq")
        add("layer0.q_proj.rows64", fmt, "gptq")
    add("layer0.down_proj.rows64", "q4_0", "gptq")
    # GPTQ after pruning with another method's mask (Wanda 50% per row): pruned weights stay 0.
    for tag in ("small", "layer0.q_proj.rows64"):
        _, _, W, X = layers[tag]
        m = wanda_mask(W, X, 0.5)
        w_name = layers[tag][0]
        layers[tag + "+wanda"] = (w_name, layers[tag][1], W * (~m), X)
        add(tag + "+wanda", "q4_0", "gptq_masked", mask=m)
    # SparseGPT joint prune + quantise.
    add("wide", "q4_0", "joint", pattern=("unstructured", 0.5))
    add("wide", "q8_0", "joint", pattern=("unstructured", 0.5))
    add("wide", "q4_0", "joint", pattern=("nm", 2, 4))
    add("layer0.q_proj.rows64", "q4_0", "joint", pattern=("unstructured", 0.5))
    add("layer0.down_proj.rows64", "q4_0", "joint", pattern=("nm", 2, 4))

    # RTN fixture: our grid (== gguf-py, checked above) on the small synthetic weight, for QuantizedWeight.rtn.
    for fmt in FORMATS:
        codes, halves, _ = rtn(fmt, layers["small"][2].numpy())
        cases.append({"tag": f"small.rtn.{fmt}", "kind": "rtn", "format": fmt, "weight": layers["small"][0],
                      "blocks": store.put(f"small.rtn.{fmt}.blocks", pack_blocks(fmt, codes, halves), "u8")})

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "gptq.bin"), "wb") as fh:
        fh.write(store.blob)
    index = {"generator": "tools/reference/gptq_reference.py", "blocksize": BLOCKSIZE, "percdamp": PERCDAMP,
             "group": GROUP, "torch": torch.__version__,
             "note": "weights/inputs named prune:<name> are arrays of fixtures/prune/prune.bin",
             "arrays": store.arrays, "cases": cases}
    with open(os.path.join(args.out, "gptq.json"), "w") as fh:
        json.dump(index, fh, indent=1)
    print(f"wrote {len(store.blob)} bytes, {len(cases)} cases")


if __name__ == "__main__":
    main()
