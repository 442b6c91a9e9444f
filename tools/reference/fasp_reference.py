"""FASP (Hu et al. 2025, arXiv:2501.09412) for one transformers decoder layer, in torch: the structured method's
torch side for prune_model.py (`--method fasp`).

Written from the paper's description and prunelab's documented conventions (README "structured", the
FASP section of /work/shared/REFERENCE.md), not from prunelab's Java code:

- Units. An MLP intermediate channel j is row j of gate_proj and up_proj and column j of down_proj; an
  attention query head is its head_dim rows of q_proj and head_dim columns of o_proj; a key/value head
  (group) is its rows of k_proj and v_proj, removed only when none of its query heads stays.
- Score (Wanda on the consumer): for an input column j of down_proj / o_proj, s_j = sum_i |W_ij| * ||X_j||
  with ||X_j|| the root mean square of input j over the calibration tokens (the sqrt(N) factor is common
  to every column, so it does not change the ranking). A head scores as the sum of its head_dim columns.
- Uniform allocation at ratio s: every block keeps round(intermediate * (1 - s)) channels (half up) (ties: the
  lower index stays) and a grouped-query layout "g groups x h heads per group" (g <= kv heads, h <= heads
  per group) whose g * h is nearest heads * (1 - s); on a tie the larger g * h (remove no more than asked), then
  more groups (query heads go before whole groups); when the model's own head count divides hidden_size, only layouts
  whose g * h divides it too (transformers' Llama and Gemma 3 configs refuse any other). Within each group its h best heads stay; the g groups whose
  kept heads score highest stay. So all blocks get the same shape and a Hugging Face config describes them.
- Restoration: with G = X^T X / N over the calibration tokens of the consumer's input (float64) and the
  kept inputs S, the new consumer weight W' [out, |S|] minimises ||X_S W'^T - X W^T||^2 + lambda ||W'||^2:
  W' = W G[:, S] (G_SS + lambda I)^-1, lambda = 0.01 * mean(diag G_SS) (1 if that mean is 0); when the
  damped matrix is not positive definite the damping is raised tenfold and the solve retried.
- Order. The block's consumer inputs are collected in one pass over the calibration windows (the block as
  it is, i.e. dense, fed the outputs of the already pruned blocks before it); heads and channels are then
  removed and o_proj / down_proj refit from those statistics; the caller re-runs the pruned block to make
  the next block's inputs.
"""
import math

import torch
from torch import nn

DAMP = 0.01


class ConsumerStats:
    """Float64 sum of squares per input and X^T X of one consumer linear's inputs over calibration tokens."""

    def __init__(self, in_features: int):
        self.tokens = 0
        self.sumsq = torch.zeros(in_features, dtype=torch.float64)
        self.xtx = torch.zeros(in_features, in_features, dtype=torch.float64)

    def add(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, x.shape[-1]).double()
        self.tokens += x.shape[0]
        self.sumsq += (x * x).sum(0)
        self.xtx += x.t() @ x

    def rms(self) -> torch.Tensor:
        return (self.sumsq / self.tokens).sqrt()

    def gram(self) -> torch.Tensor:
        return self.xtx / self.tokens


def column_scores(W: torch.Tensor, stats: ConsumerStats) -> torch.Tensor:
    """s_j = sum_i |W_ij| * rms(X_j), float64."""
    return W.double().abs().sum(0) * stats.rms()


def top(scores: torch.Tensor, k: int) -> list[int]:
    """Indices of the k highest scores, ascending; on equal scores the lower index wins."""
    order = sorted(range(len(scores)), key=lambda j: (-float(scores[j]), j))
    return sorted(order[:k])


def head_layout(heads: int, kv_heads: int, target: float, hidden: int = 0) -> tuple[int, int]:
    """(groups kept, query heads kept per group) with g * h nearest `target`; ties: more heads, then more groups.
    When `heads` divides `hidden`, only g * h that divide `hidden` qualify (a config transformers loads)."""
    if math.floor(target + 0.5) < 1:  # half up, as prunelab rounds (Python's round() is half to even)
        raise ValueError(f"ratio removes all {heads} attention heads")
    per_group = heads // kv_heads
    divides = hidden if hidden > 0 and hidden % heads == 0 else 0
    candidates = [(abs(g * h - target), -g, h) for g in range(1, kv_heads + 1) for h in range(1, per_group + 1)
                  if divides == 0 or divides % (g * h) == 0]
    _, neg_g, h = min(candidates, key=lambda c: (round(c[0], 9), -(-c[1] * c[2]), c[1]))
    return -neg_g, h


def choose_heads(head_scores: torch.Tensor, kv_heads: int, g: int, h: int) -> tuple[list[int], list[int]]:
    """Kept (groups, query heads): each group's h best heads; the g groups with the best sum of those."""
    per_group = len(head_scores) // kv_heads
    best = {k: [k * per_group + i for i in top(head_scores[k * per_group:(k + 1) * per_group], h)]
            for k in range(kv_heads)}
    group_scores = torch.tensor([float(sum(head_scores[i] for i in best[k])) for k in range(kv_heads)],
                                dtype=torch.float64)
    groups = top(group_scores, g)
    return groups, [i for k in groups for i in best[k]]


def restore(W: torch.Tensor, G: torch.Tensor, kept: list[int], damp: float = DAMP) -> torch.Tensor:
    """W' = W G[:, S] (G_SS + lambda I)^-1 in float64 (ridge least squares); returned in W's dtype."""
    S = torch.tensor(kept, dtype=torch.long)
    A = G[S][:, S]
    mean_diag = float(A.diagonal().mean()) if len(kept) else 0.0
    if not mean_diag > 0:
        mean_diag = 1.0
    rhs = W.double() @ G[:, S]  # [out, |S|]
    d = damp
    while True:
        L, info = torch.linalg.cholesky_ex(A + d * mean_diag * torch.eye(len(kept), dtype=torch.float64))
        if int(info) == 0:
            break
        if d > 1e3:
            raise RuntimeError("restoration: damped Gram matrix not positive definite")
        d = max(10 * d, 1e-6)
    # W' A_damped = rhs  <=>  A_damped W'^T = rhs^T (A symmetric)
    return torch.cholesky_solve(rhs.t(), L).t().to(W.dtype)


def rows(lin: nn.Linear, idx: list[int]) -> None:
    """Keeps the output rows idx of lin (and its bias entries), in place."""
    i = torch.tensor(idx, dtype=torch.long)
    lin.weight = nn.Parameter(lin.weight.data[i].clone(), requires_grad=False)
    if lin.bias is not None:
        lin.bias = nn.Parameter(lin.bias.data[i].clone(), requires_grad=False)
    lin.out_features = len(idx)


def set_columns(lin: nn.Linear, W: torch.Tensor) -> None:
    lin.weight = nn.Parameter(W.contiguous(), requires_grad=False)
    lin.in_features = W.shape[1]


def expand(heads: list[int], head_dim: int) -> list[int]:
    return [h * head_dim + d for h in heads for d in range(head_dim)]


@torch.no_grad()
def prune_layer(layer: nn.Module, o_stats: ConsumerStats, down_stats: ConsumerStats, sparsity: float,
                restore_weights: bool = True) -> dict:
    """Removes the lowest-scoring MLP channels and heads of one decoder layer and refits o_proj / down_proj."""
    attn, mlp = layer.self_attn, layer.mlp
    head_dim = attn.head_dim
    heads = attn.q_proj.out_features // head_dim
    kv_heads = attn.k_proj.out_features // head_dim
    inter = mlp.down_proj.in_features

    ch_scores = column_scores(mlp.down_proj.weight, down_stats)
    channels = top(ch_scores, math.floor(inter * (1 - sparsity) + 0.5))
    if not channels:
        raise ValueError(f"ratio removes all {inter} MLP channels")
    hs = column_scores(attn.o_proj.weight, o_stats).reshape(heads, head_dim).sum(1)
    g, h = head_layout(heads, kv_heads, heads * (1 - sparsity), attn.o_proj.weight.shape[0])
    groups, kept_heads = choose_heads(hs, kv_heads, g, h)

    o_cols = expand(kept_heads, head_dim)
    if restore_weights:
        new_o = restore(attn.o_proj.weight.data, o_stats.gram(), o_cols)
        new_down = restore(mlp.down_proj.weight.data, down_stats.gram(), channels)
    else:
        new_o = attn.o_proj.weight.data[:, o_cols].clone()
        new_down = mlp.down_proj.weight.data[:, channels].clone()

    rows(attn.q_proj, o_cols)
    rows(attn.k_proj, expand(groups, head_dim))
    rows(attn.v_proj, expand(groups, head_dim))
    set_columns(attn.o_proj, new_o)
    rows(mlp.gate_proj, channels)
    rows(mlp.up_proj, channels)
    set_columns(mlp.down_proj, new_down)
    # eager attention repeats each key/value head num_key_value_groups times to match the query heads
    attn.num_key_value_groups = len(kept_heads) // len(groups)
    for name, value in (("num_heads", len(kept_heads)), ("num_key_value_heads", len(groups))):
        if hasattr(attn, name):
            setattr(attn, name, value)
    return {"channels": len(channels), "heads": kept_heads, "groups": groups,
            "head_scores": [float(x) for x in hs]}
