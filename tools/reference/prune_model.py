"""End-to-end layer-wise pruning of a whole model (SmolLM2-135M, Gemma 3 270M) in torch, then its perplexity.

The torch side of prunelab's `prune` command (issue 3): the same calibration windows (as token ids)
go through the flow of the Wanda reference code (locuslab/wanda lib/prune.py: prune_magnitude,
prune_wanda, prune_sparsegpt; OWL from luuyin/OWL lib/prune_all.py), with the per-matrix methods
imported from prune_reference.py (magnitude, Wanda scores, N:M / per-row / per-matrix selection,
SparseGPT, OWL's outlier ratio and layer sparsities):

1. Capture: one plain forward pass of window 0 with every decoder layer wrapped records the keyword
   arguments the model passes to *each* layer (attention_mask, position_embeddings, position_ids, ...;
   Gemma 3's sliding-window and global layers get different RoPE (cos, sin) and masks). Then a Catcher
   swapped in for layer 0 records the hidden states it receives for every window and stops the pass.
   Each window runs on its own (batch 1), so the arguments are exactly those of a plain forward pass;
   layer l is later replayed with layer l's own arguments.
2. Per decoder layer: forward hooks on its linears add each batch's inputs to running statistics
   (float64 sum of squares per input feature; for SparseGPT also X^T X), the layer is run over all
   windows, every linear is pruned at once from those statistics, and the layer is run again so the
   next layer is calibrated on the outputs of the *pruned* layers before it.
3. OWL (`--owl`, with wanda or sparsegpt): a first pass through the dense model computes each layer's
   outlier ratio from its Wanda scores (all linears concatenated); the layer sparsities follow
   from prune_reference.owl_sparsities; the second pass prunes layer l at its own sparsity.

4. FASP (`--method fasp --sparsity S`, uniform allocation, fasp_reference.py): per layer the inputs of
   o_proj and down_proj are collected (sum of squares and X^T X in float64), the lowest-scoring MLP
   channels and attention heads are removed, o_proj/down_proj are refit by ridge least squares
   (`--no-restore`: just cut), and the pruned layer is re-run for the next layer's inputs.

Statistics count calibration TOKENS (nsamples x seqlen), not sequences; see prune_reference.py for
why the masks equal the reference's. q/k/v_proj share one input, and so do gate/up_proj: they share
one statistics object (Llama and Gemma 3 layout, see SHARED_INPUT).

transformers 5 notes (where reference code written for 4.x breaks): a decoder layer returns a tensor,
not a tuple (`layer(...)[0]` silently takes batch element 0); RoPE is applied from
`position_embeddings=(cos, sin)`, computed once by `model.model.rotary_emb`, and a layer called
without it fails; the KV cache argument is `cache`, not `past_key_value`. The Catcher records
whatever the installed version passes, so none of these is re-created by hand.

Examples (repo root; the model at $PRUNELAB_HOME/models/smollm2-135m/, or --model GGUF|DIR|smollm2-135m|gemma3-270m):

    # the windows prunelab used, the evaluation windows prunelab used
    /work/scratch/refvenv/bin/python tools/reference/prune_model.py --method wanda --sparsity 0.5 \
        --calib-ids OUT/calibration_ids.json --eval-ids OUT/eval_ids.json --threads 2
    # own testing only: random Brown windows (NOT prunelab's windows: other RNG, other detagging)
    /work/scratch/refvenv/bin/python tools/reference/prune_model.py --method sparsegpt --pattern 2:4 \
        --calib-brown 16 512 0 --eval-brown --seqlen 512 --eval-windows 16

Output: one JSON line on stdout (method, sparsity, pattern, owl, nsamples, seqlen, sparsity summary,
prune_seconds, perplexity, versions, ...). Progress goes to stderr.
"""
import argparse
import json
import random
import re
import shlex
import sys
import time
from pathlib import Path

import reflib  # first: hides GPUs before torch is imported

import fasp_reference as fasp  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from prune_reference import (  # noqa: E402
    PERCDAMP, magnitude_mask, owl_outlier_ratio, owl_sparsities, select, sparsegpt_from_hessian,
    wanda_scores_from_mean_squares)

# Linears whose input is the same tensor as another linear's (Llama): they reuse that linear's statistics.
SHARED_INPUT = {"self_attn.k_proj": "self_attn.q_proj", "self_attn.v_proj": "self_attn.q_proj",
                "mlp.up_proj": "mlp.gate_proj"}


class Catcher(nn.Module):
    """Stands in for decoder layer 0: records its hidden states and keyword arguments, then stops the pass."""

    class Stop(Exception):
        pass

    def __init__(self):
        super().__init__()
        self.inputs, self.kwargs = [], None

    def forward(self, hidden_states, *args, **kwargs):
        if args:
            raise TypeError(f"decoder layer called with {len(args)} positional arguments besides hidden_states; "
                            "this script expects keywords (transformers 5 LlamaModel)")
        self.inputs.append(hidden_states.detach())
        if self.kwargs is None:
            self.kwargs = kwargs
        raise Catcher.Stop


class LinearStats:
    """Running statistics of one linear's inputs over calibration tokens, in float64.

    sum of squares per input feature (Wanda's ||X_j||^2) and, if `hessian`, X^T X (SparseGPT);
    `add` takes a batch [batch, seqlen, in_features].
    """

    def __init__(self, in_features: int, hessian: bool):
        self.tokens = 0
        self.sumsq = torch.zeros(in_features, dtype=torch.float64)
        self.xtx = torch.zeros(in_features, in_features, dtype=torch.float64) if hessian else None
        self.shapes = set()

    def add(self, x: torch.Tensor) -> None:
        self.shapes.add(tuple(x.shape))
        x = x.reshape(-1, x.shape[-1]).double()
        self.tokens += x.shape[0]
        self.sumsq += (x * x).sum(0)
        if self.xtx is not None:
            self.xtx += x.t() @ x

    def mean_squares(self) -> torch.Tensor:
        return self.sumsq / self.tokens

    def hessian(self) -> torch.Tensor:
        """H = 2/N X^T X over the N calibration tokens."""
        return (2.0 / self.tokens) * self.xtx


def linears(layer: nn.Module) -> dict[str, nn.Linear]:
    return {name: m for name, m in layer.named_modules() if isinstance(m, nn.Linear)}


def pattern_for(args, sparsity: float) -> dict:
    if args.pattern == "unstructured":
        return {"kind": "unstructured", "sparsity": sparsity}
    n, m = map(int, args.pattern.split(":"))
    return {"kind": "nm", "n": n, "m": m}


def run_layer(layer, inps, outs, kwargs, batch):
    """outs[i] = layer(inps[i]) in batches; handles tensor (transformers 5) or tuple (4.x) returns."""
    for i in range(0, inps.shape[0], batch):
        y = layer(inps[i:i + batch], **kwargs)
        outs[i:i + batch] = y[0] if isinstance(y, tuple) else y


def calibrate_layer(layer, inps, outs, kwargs, batch, hessian):
    """Runs the layer over all windows with hooks; returns {linear name: LinearStats} (shared where inputs are)."""
    stats, handles = {}, []
    for name, lin in linears(layer).items():
        if name in SHARED_INPUT:
            continue
        stats[name] = LinearStats(lin.in_features, hessian)
        handles.append(lin.register_forward_hook(lambda mod, inp, out, s=stats[name]: s.add(inp[0].detach())))
    try:
        run_layer(layer, inps, outs, kwargs, batch)
    finally:
        for h in handles:
            h.remove()
    for name in linears(layer):
        if name in SHARED_INPUT:
            stats[name] = stats[SHARED_INPUT[name]]
    return stats


def prune_linear(lin: nn.Linear, method: str, pattern: dict, stats: LinearStats | None) -> None:
    W = lin.weight.data
    if method == "magnitude":
        W[magnitude_mask(W, pattern)] = 0
    elif method == "wanda":
        W[select(wanda_scores_from_mean_squares(W, stats.mean_squares()), pattern, per_row=True)] = 0
    else:
        H, damp = stats.hessian(), PERCDAMP
        for _ in range(6):  # Cholesky fails when H + damping is not positive definite: raise damping, retry
            try:
                pruned, _ = sparsegpt_from_hessian(W, H, pattern, percdamp=damp)
                break
            except torch.linalg.LinAlgError:
                print(f"  Cholesky failed at percdamp {damp}; retrying with {damp * 10}", file=sys.stderr)
                damp *= 10
        else:
            sys.exit("SparseGPT: Cholesky failed even at 1e4 x the damping; use more calibration samples")
        W.copy_(pruned)


class KwargsRecorder(nn.Module):
    """Wraps one decoder layer: records the keyword arguments it is called with, then runs it."""

    def __init__(self, layer: nn.Module, store: list):
        super().__init__()
        self.layer, self.store = layer, store

    def forward(self, hidden_states, *args, **kwargs):
        if args:
            raise TypeError(f"decoder layer called with {len(args)} positional arguments besides hidden_states")
        self.store.append(dict(kwargs))
        return self.layer(hidden_states, **kwargs)


def same(a, b) -> bool:
    """Equality of captured keyword-argument values (tensors, tuples/lists/dicts of them, plain values)."""
    if torch.is_tensor(a) or torch.is_tensor(b):
        return torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def describe(v):
    return (list(v.shape) if torch.is_tensor(v) else
            [describe(t) for t in v] if isinstance(v, (tuple, list)) else repr(v))


def capture_inputs(model, calib: torch.Tensor):
    """Hidden states entering layer 0 for every window [nsamples, seqlen, hidden] and every layer's kwargs.

    Layers may receive different keyword arguments: Gemma 3's sliding-window layers get their own
    attention mask and their own RoPE (cos, sin) (local base frequency), its global layers another pair.
    So one plain forward pass of window 0 records what the model passes to *each* layer (all windows
    have the same length and the arguments carry no per-window content); the Catcher then records the
    hidden states entering layer 0 for every window. The two records of layer 0's arguments must agree.
    """
    layers = model.model.layers
    records: list[dict] = []
    originals = list(layers)
    for i, layer in enumerate(originals):
        layers[i] = KwargsRecorder(layer, records)
    try:
        model(calib[:1], use_cache=False)
    finally:
        for i, layer in enumerate(originals):
            layers[i] = layer
    if len(records) != len(originals):
        sys.exit(f"recorded the arguments of {len(records)} decoder layer calls, expected {len(originals)}")

    original, catcher = layers[0], Catcher()
    layers[0] = catcher
    try:
        for window in calib:
            try:
                model(window[None, :], use_cache=False)
            except Catcher.Stop:
                pass
    finally:
        layers[0] = original
    if catcher.kwargs.keys() != records[0].keys() or not all(same(catcher.kwargs[k], records[0][k]) for k in records[0]):
        sys.exit("layer 0's arguments differ between the Catcher and the recording pass")
    kws = []
    for i, rec in enumerate(records):
        kw = dict(rec)
        kw["use_cache"], kw["cache"] = False, None
        if kw.get("position_embeddings") is None:
            sys.exit(f"layer {i} received no position_embeddings; this script follows transformers 5, where RoPE "
                     "(cos, sin) is computed by the model and passed to every decoder layer")
        if not torch.is_tensor(kw.get("attention_mask")):
            sys.exit(f"layer {i} received no attention mask tensor ({kw.get('attention_mask')!r}); load with eager attention")
        kws.append(kw)
    return torch.cat(catcher.inputs), kws


def kwargs_summary(kws: list[dict]) -> dict:
    """Layer 0's argument shapes, and for every argument that is not the same in all layers, the layers that differ."""
    out = {"layer0": {k: describe(v) for k, v in kws[0].items()}, "differ_from_layer0": {}}
    for k in kws[0]:
        idx = [i for i, kw in enumerate(kws) if not same(kw.get(k), kws[0][k])]
        if idx:
            out["differ_from_layer0"][k] = idx
    return out


@torch.no_grad()
def owl_layer_sparsities(model, inps, kws, args):
    """OWL pass over the dense model: outlier ratio of each layer's Wanda scores -> per-layer sparsity."""
    inps, outs, ratios = inps.clone(), torch.empty_like(inps), []
    for idx, layer in enumerate(model.model.layers):
        stats = calibrate_layer(layer, inps, outs, kws[idx], args.batch, hessian=False)
        scores = [wanda_scores_from_mean_squares(lin.weight.data, stats[name].mean_squares())
                  for name, lin in linears(layer).items()]
        ratios.append(owl_outlier_ratio(scores, args.owl_m))
        inps, outs = outs, inps
        print(f"owl layer {idx}: outlier ratio {ratios[-1]:.6f}", file=sys.stderr)
    return ratios, [float(s) for s in owl_sparsities(ratios, args.sparsity, args.owl_lambda)]


@torch.no_grad()
def prune(model, calib: torch.Tensor, args) -> dict:
    """Prunes every decoder layer in place; returns what the report needs about the run."""
    n_layers = len(model.model.layers)
    info = {}
    if args.method == "magnitude":  # needs no data (prune_magnitude in the reference)
        for layer in model.model.layers:
            for lin in linears(layer).values():
                prune_linear(lin, "magnitude", pattern_for(args, args.sparsity), None)
        info["layer_sparsity"] = [args.sparsity] * n_layers
        return info
    inps, kws = capture_inputs(model, calib)
    info["layer_kwargs"] = kwargs_summary(kws)
    if args.method == "fasp":
        return prune_fasp(model, inps, kws, args, info)
    if args.owl:
        info["owl_outlier_ratio"], layer_sparsity = owl_layer_sparsities(model, inps, kws, args)
    else:
        layer_sparsity = [args.sparsity] * n_layers
    info["layer_sparsity"] = layer_sparsity
    outs, start, shapes = torch.empty_like(inps), time.perf_counter(), set()
    for idx, layer in enumerate(model.model.layers):
        stats = calibrate_layer(layer, inps, outs, kws[idx], args.batch, hessian=args.method == "sparsegpt")
        for name, lin in linears(layer).items():
            if stats[name].tokens != inps.shape[0] * inps.shape[1]:
                sys.exit(f"layer {idx} {name}: hooks saw {stats[name].tokens} tokens, expected "
                         f"{inps.shape[0]} x {inps.shape[1]}")
            shapes |= {(name, s) for s in stats[name].shapes}
            prune_linear(lin, args.method, pattern_for(args, layer_sparsity[idx]), stats[name])
        run_layer(layer, inps, outs, kws[idx], args.batch)  # the next layer sees the pruned layer's outputs
        inps, outs = outs, inps
        print(f"layer {idx + 1}/{n_layers} pruned ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    info["hook_input_shapes"] = sorted({f"{s}" for _, s in shapes})
    info["_last_hidden"] = inps[:1].clone()  # for propagation_check, outside the timed loop
    return info


@torch.no_grad()
def prune_fasp(model, inps, kws, args, info) -> dict:
    """FASP, uniform allocation (fasp_reference.py): per layer, collect o_proj/down_proj input statistics on the
    outputs of the already pruned layers, remove channels and heads, refit, re-run the pruned layer."""
    n_layers, start = len(model.model.layers), time.perf_counter()
    outs = torch.empty_like(inps)
    info["fasp_layers"] = []
    for idx, layer in enumerate(model.model.layers):
        o_stats = fasp.ConsumerStats(layer.self_attn.o_proj.in_features)
        down_stats = fasp.ConsumerStats(layer.mlp.down_proj.in_features)
        handles = [layer.self_attn.o_proj.register_forward_hook(lambda m, i, o: o_stats.add(i[0].detach())),
                   layer.mlp.down_proj.register_forward_hook(lambda m, i, o: down_stats.add(i[0].detach()))]
        try:
            run_layer(layer, inps, outs, kws[idx], args.batch)
        finally:
            for h in handles:
                h.remove()
        for st in (o_stats, down_stats):
            if st.tokens != inps.shape[0] * inps.shape[1]:
                sys.exit(f"layer {idx}: hooks saw {st.tokens} tokens, expected {inps.shape[0]} x {inps.shape[1]}")
        kept = fasp.prune_layer(layer, o_stats, down_stats, args.sparsity, restore_weights=not args.no_restore)
        info["fasp_layers"].append(kept)
        run_layer(layer, inps, outs, kws[idx], args.batch)  # the next layer sees the pruned layer's outputs
        inps, outs = outs, inps
        print(f"layer {idx + 1}/{n_layers} fasp: {kept['channels']} channels, heads {kept['heads']}, groups "
              f"{kept['groups']} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    first = info["fasp_layers"][0]
    cfg = model.config  # uniform allocation: every layer has the same shape, which the config now describes
    cfg.intermediate_size, cfg.num_attention_heads, cfg.num_key_value_heads = \
        first["channels"], len(first["heads"]), len(first["groups"])
    info["_last_hidden"] = inps[:1].clone()
    return info


@torch.no_grad()
def propagation_check(model, calib, last_hidden) -> float:
    """Max |difference| between the layer-by-layer stream of window 0 and a plain forward of the pruned model.

    Near float rounding only if the captured mask, RoPE and residual handling are the model's own.
    """
    plain = model.model(calib[:1], use_cache=False).last_hidden_state
    return float((plain - model.model.norm(last_hidden)).abs().max())


def linear_parameters(model) -> int:
    """Weights of the decoder layers' linears (what structured pruning removes)."""
    return sum(lin.weight.numel() for layer in model.model.layers for lin in linears(layer).values())


def sparsity_summary(model) -> dict:
    """Share of exact zeros per linear of the decoder layers: overall, min, max, per layer."""
    zeros = total = 0
    per_linear, per_layer = [], []
    for layer in model.model.layers:
        lz = lt = 0
        for lin in linears(layer).values():
            z, n = int((lin.weight == 0).sum()), lin.weight.numel()
            per_linear.append(z / n)
            lz, lt = lz + z, lt + n
        per_layer.append(lz / lt)
        zeros, total = zeros + lz, total + lt
    return {"overall": zeros / total, "min_linear": min(per_linear), "max_linear": max(per_linear),
            "linears": len(per_linear), "per_layer": [round(s, 6) for s in per_layer]}


def save(model, tok, out: Path) -> None:
    """config.json + model.safetensors (+ tokenizer files) in Hugging Face layout.

    transformers 5 refuses save_pretrained on a model loaded from a GGUF ("quantized with gguf and
    is not serializable"), so the fp32 state dict is written directly; lm_head is tied to
    embed_tokens and is left out, as save_pretrained would.
    """
    from safetensors.torch import save_file
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()
             if not (k == "lm_head.weight" and model.config.tie_word_embeddings)}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config = model.config.to_dict()
    config.pop("quantization_config", None)
    config["torch_dtype"] = config["dtype"] = "float32"
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    tok.save_pretrained(out)


# ----------------------------------------------------------------------------------------------
# data

def read_windows(path: Path) -> list[list[int]]:
    """JSON list of lists of ints; also accepts {"windows": [...]} and windows given as {"token_ids": [...]}."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(doc, dict):
        doc = next((doc[k] for k in ("windows", "token_ids", "ids") if k in doc), None)
    if not isinstance(doc, list) or not doc:
        sys.exit(f"{path}: expected a JSON list of windows (lists of token ids)")
    out = [[int(t) for t in (w["token_ids"] if isinstance(w, dict) else w)] for w in doc]
    if len({len(w) for w in out}) != 1:
        sys.exit(f"{path}: windows have different lengths {sorted({len(w) for w in out})}; all must be seqlen long")
    return out


def brown_documents(brown: Path, evaluation: bool) -> list[str]:
    """Brown files in name order, file i in the evaluation part iff i % 10 == 0 (prunelab's split rule).

    Detagging is reflib.brown_sentences (words joined by single spaces), not prunelab's prose
    spacing, so the token ids differ from prunelab's even for the same file.
    """
    files = sorted(p.name for p in brown.iterdir() if re.fullmatch(r"c[a-r][0-9][0-9]", p.name))
    if not files:
        sys.exit(f"no Brown sample files (ca01..cr09) in {brown}; pass --brown")
    return ["\n".join(reflib.brown_sentences(brown, [f])) for i, f in enumerate(files) if (i % 10 == 0) == evaluation]


def brown_calibration(tok, brown: Path, nsamples: int, seqlen: int, seed: int) -> list[list[int]]:
    """Wanda's get_c4 procedure on Brown's calibration files with Python's random (NOT prunelab's windows)."""
    docs, rng, cache = brown_documents(brown, evaluation=False), random.Random(seed), {}
    out = []
    for _ in range(nsamples):
        while True:
            i = rng.randint(0, len(docs) - 1)
            ids = cache.setdefault(i, tok(docs[i], add_special_tokens=False)["input_ids"])
            if len(ids) > seqlen:
                break
        start = rng.randint(0, len(ids) - seqlen - 1)
        out.append(ids[start:start + seqlen])
    return out


def eval_windows(args, tok) -> tuple[list[list[int]], str]:
    if args.eval_ids:
        wins, src = read_windows(args.eval_ids), str(args.eval_ids)
    else:
        if args.eval_text:
            text, src = args.eval_text.read_text(encoding="utf-8"), str(args.eval_text)
        else:
            text, src = "\n\n".join(brown_documents(args.brown, evaluation=True)), f"brown evaluation files {args.brown}"
        if not args.seqlen:
            sys.exit("--eval-text/--eval-brown need --seqlen")
        wins = reflib.windows(tok(text, add_special_tokens=False)["input_ids"], args.seqlen)
    return wins[:args.eval_windows] if args.eval_windows else wins, src


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", "--gguf", dest="model", type=reflib.model_path, default=reflib.default_gguf(),
                    help="GGUF file, Hugging Face folder, or a registered name (smollm2-135m, gemma3-270m) at its "
                         "./prunelab setup location (default: SmolLM2-135M)")
    ap.add_argument("--tokenizer", type=Path, help="GGUF or folder with a tokenizer (default: --model)")
    ap.add_argument("--method", required=True, choices=["magnitude", "wanda", "sparsegpt", "fasp"])
    ap.add_argument("--no-restore", action="store_true", help="fasp: no least-squares refit of o_proj/down_proj")
    ap.add_argument("--sparsity", type=float, default=0.5,
                    help="unstructured sparsity in [0, 1) (ignored for N:M); fasp: share of MLP channels and heads removed")
    ap.add_argument("--pattern", default="unstructured", help="unstructured, or N:M such as 2:4, 4:8")
    ap.add_argument("--owl", action="store_true", help="OWL layer sparsities (wanda/sparsegpt, unstructured)")
    ap.add_argument("--owl-m", type=float, default=5.0, help="OWL outlier threshold M (x mean score)")
    ap.add_argument("--owl-lambda", type=float, default=0.08, help="OWL lambda (sparsity spread +-lambda)")
    calib = ap.add_mutually_exclusive_group()
    calib.add_argument("--calib-ids", type=Path, help="calibration windows: JSON list of lists of token ids")
    calib.add_argument("--calib-brown", nargs=3, type=int, metavar=("N", "SEQLEN", "SEED"),
                       help="testing fallback: N random Brown windows (does NOT reproduce prunelab's windows)")
    ev = ap.add_mutually_exclusive_group()
    ev.add_argument("--eval-ids", type=Path, help="evaluation windows: JSON list of lists of token ids")
    ev.add_argument("--eval-text", type=Path, help="UTF-8 text, tokenised once, cut into --seqlen windows")
    ev.add_argument("--eval-brown", action="store_true", help="Brown evaluation files (i %% 10 == 0), reflib detagging")
    ap.add_argument("--seqlen", type=int, help="window length for --eval-text/--eval-brown")
    ap.add_argument("--eval-windows", type=int, help="evaluate only the first N windows")
    ap.add_argument("--brown", type=Path, default=reflib.default_gguf().parents[2] / "corpora" / "brown")
    ap.add_argument("--batch", type=int, default=8, help="windows per layer call during calibration")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dump-calib", type=Path, help="write the calibration windows used as JSON (list of lists)")
    ap.add_argument("--save", type=Path, help="write the pruned model here (safetensors + config.json + tokenizer)")
    args = ap.parse_args()

    nm = args.pattern != "unstructured"
    if nm and not re.fullmatch(r"\d+:\d+", args.pattern):
        sys.exit(f"--pattern {args.pattern}: use unstructured or N:M such as 2:4")
    if nm:
        n, m = map(int, args.pattern.split(":"))
        if not 0 < n < m:
            sys.exit(f"--pattern {args.pattern}: need 0 < N < M")
        args.sparsity = 1 - n / m
    if not 0 <= args.sparsity < 1:
        sys.exit(f"--sparsity {args.sparsity} is outside [0, 1)")
    if args.method == "fasp" and (nm or args.owl):
        sys.exit("--method fasp is structured: no --pattern N:M, no --owl")
    if args.owl and (args.method == "magnitude" or nm):
        sys.exit("--owl applies to wanda or sparsegpt with unstructured sparsity")
    if args.method != "magnitude" and not (args.calib_ids or args.calib_brown):
        sys.exit(f"{args.method} needs calibration windows: --calib-ids FILE or --calib-brown N SEQLEN SEED")
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)

    model, tok = reflib.load(args.model, args.tokenizer)
    if args.calib_ids:
        calib, calib_src = read_windows(args.calib_ids), str(args.calib_ids)
    elif args.calib_brown:
        calib = brown_calibration(tok, args.brown, *args.calib_brown)
        calib_src = f"brown calibration files, random windows, seed {args.calib_brown[2]} (not prunelab's windows)"
    else:
        calib, calib_src = [], None
    if args.dump_calib:
        args.dump_calib.write_text(json.dumps(calib))
    calib = torch.tensor(calib, dtype=torch.long)

    params_before = linear_parameters(model)
    start = time.perf_counter()
    info = prune(model, calib, args)
    prune_seconds = time.perf_counter() - start
    if "_last_hidden" in info:
        info["propagation_check_max_abs"] = propagation_check(model, calib, info.pop("_last_hidden"))
    summary = sparsity_summary(model)
    summary["linear_parameters_before"], summary["linear_parameters_after"] = params_before, linear_parameters(model)
    summary["removed_parameters"] = 1 - summary["linear_parameters_after"] / params_before
    print(f"pruned in {prune_seconds:.1f} s, overall sparsity {summary['overall']:.6f}", file=sys.stderr)

    result = {"model": str(args.model), "method": args.method, "sparsity": args.sparsity, "pattern": args.pattern, "owl": args.owl,
              "nsamples": int(calib.shape[0]) if calib.numel() else 0,
              "seqlen": int(calib.shape[1]) if calib.numel() else 0, "calibration": calib_src,
              "actual_sparsity": summary, "prune_seconds": prune_seconds, "threads": args.threads,
              "batch": args.batch, **info}
    if args.eval_ids or args.eval_text or args.eval_brown:
        wins, src = eval_windows(args, tok)
        t0, nlls = time.perf_counter(), []
        for i, w in enumerate(wins, 1):
            nlls.append(reflib.window_nll(model, w))
            if i % 10 == 0 or i == len(wins):
                print(f"eval window {i}/{len(wins)} ppl so far {reflib.perplexity(nlls):.4f}", file=sys.stderr)
        result.update({"eval": src, "eval_windows": len(wins), "eval_seqlen": len(wins[0]),
                       "perplexity": reflib.perplexity(nlls), "eval_seconds": time.perf_counter() - t0})
    if args.save:
        save(model, tok, args.save)
        result["saved"] = str(args.save)
    result["versions"] = reflib.versions()
    result["command"] = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
