"""Shared helpers for the reference scripts: model loading, corpus text, and the perplexity protocol.

Everything runs on CPU in fp32; the protocol is the one in /work/shared/REFERENCE.md
("Evaluation protocol (perplexity)"), restated in `window_nll`.
"""
import contextlib
import hashlib
import json
import math
import os
import re
import sys
from importlib.metadata import version
from pathlib import Path

# Hide any GPU before torch is imported: the reference numbers are defined as CPU fp32.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

SMOLLM2_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def default_gguf() -> Path:
    """Where ./prunelab setup puts the model: $PRUNELAB_HOME (default ~/.cache/prunelab)/models/smollm2-135m/."""
    home = os.environ.get("PRUNELAB_HOME") or os.path.expanduser("~/.cache/prunelab")
    return Path(home) / "models" / "smollm2-135m" / SMOLLM2_GGUF_NAME


# Registered model names -> their GGUF under $PRUNELAB_HOME/models/ (where ./prunelab setup puts them).
REGISTERED = {"smollm2-135m": "smollm2-135m/" + SMOLLM2_GGUF_NAME,
              "gemma3-270m": "gemma3-270m/gemma-3-270m-q4_k_m.gguf"}


def model_path(text: str) -> Path:
    """A registered name (smollm2-135m, gemma3-270m) at its setup location, else the path as given."""
    if text in REGISTERED:
        return default_gguf().parents[1] / REGISTERED[text]
    return Path(text)


def versions() -> dict:
    """Library versions that determine the reference numbers (recorded in every fixture)."""
    return {p: version(p) for p in ("torch", "transformers", "gguf", "numpy")}


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load(model: Path, tokenizer: Path | None = None, attn: str = "eager"):
    """Loads (model, tokenizer) from a .gguf file or a Hugging Face directory (config.json + safetensors).

    A GGUF is dequantised by transformers to fp32 at load (~20 s for SmolLM2-135M on 2 cores).
    `tokenizer` defaults to the model itself; pass the original GGUF when an exported directory has none.
    `attn="eager"` is the plain softmax(QK^T)V path, the most literal reading of the math.
    """
    def from_path(cls, p: Path, **kw):
        if p.is_file():  # a GGUF file: transformers wants its folder and its name separately
            return cls.from_pretrained(str(p.parent), gguf_file=p.name, **kw)
        return cls.from_pretrained(str(p), **kw)

    for p in (model, tokenizer):
        if p is not None and not p.exists():
            sys.exit(f"not found: {p} — pass --model/--tokenizer, or run ./prunelab setup to fetch the model")
    with heads_not_dividing_hidden(model):
        tok = from_path(AutoTokenizer, tokenizer or model)
        net = from_path(AutoModelForCausalLM, model, dtype=torch.float32, attn_implementation=attn)
    return net.eval(), tok


@contextlib.contextmanager
def heads_not_dividing_hidden(model: Path):
    """Lets transformers load a folder whose head count does not divide hidden_size when head_dim is explicit.

    transformers 5.24's Gemma3TextConfig.validate_architecture refuses hidden_size % num_attention_heads != 0,
    although Gemma 3 takes the head width from head_dim (q_proj is heads x head_dim, not hidden_size): a Gemma 3
    270M with 3 of its 4 heads kept (FASP 25%: 640 % 3 != 0) is a well-defined model that the check alone refuses.
    For such a folder only (config.json with head_dim), that one class validator is skipped while loading.
    """
    cfg_path = model / "config.json" if model.is_dir() else None
    cfg = json.loads(cfg_path.read_text()) if cfg_path and cfg_path.is_file() else {}
    if not (cfg.get("head_dim") and cfg.get("num_attention_heads") and cfg["hidden_size"] % cfg["num_attention_heads"]):
        yield
        return
    from transformers import CONFIG_MAPPING
    cls = CONFIG_MAPPING[cfg["model_type"]]
    saved = cls.__class_validators__
    print(f"note: {model}: hidden_size {cfg['hidden_size']} is not a multiple of num_attention_heads "
          f"{cfg['num_attention_heads']} (head_dim {cfg['head_dim']}); skipping {cls.__name__}.validate_architecture",
          file=sys.stderr)
    cls.__class_validators__ = [v for v in saved if v.__name__ != "validate_architecture"]
    try:
        yield
    finally:
        cls.__class_validators__ = saved


def brown_sentences(corpus_dir: Path, files: list[str]) -> list[str]:
    """Plain sentences from Brown Corpus form C files (`word/tag` tokens, one sentence per indented line).

    Simple detagging as DATA.md describes: drop the last `/tag` of each token and turn the ``
    and '' quote tokens into a plain double quote; words are re-joined with single spaces
    (so punctuation stays space-separated, e.g. "election ."). Blank lines are dropped.
    """
    sentences = []
    for name in files:
        for line in (corpus_dir / name).read_text(encoding="utf-8").splitlines():
            words = [tok.rsplit("/", 1)[0] for tok in line.split()]
            words = ['"' if w in ("``", "''") else w for w in words]
            if words:
                sentences.append(" ".join(words))
    return sentences


@torch.no_grad()
def window_nll(model, window: list[int]) -> float:
    """Mean negative log-likelihood (nats) of tokens 2..T of one window, each predicted from its prefix.

    The window is evaluated on its own from position 0, no BOS added. The model's log-softmax is
    taken in fp32 (as the model computes it); the T-1 picked log-probabilities are summed in float64.
    """
    ids = torch.tensor([window], dtype=torch.long)
    logits = model(ids, use_cache=False).logits[0, :-1, :]  # (T-1, vocab): position t predicts t+1
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    picked = logprobs.gather(1, ids[0, 1:, None])[:, 0]  # (T-1,)
    return float(-picked.double().sum() / picked.numel())


def windows(ids: list[int], seqlen: int, count: int | None = None) -> list[list[int]]:
    """Non-overlapping windows of `seqlen` tokens; the remainder is dropped; at most `count` windows."""
    n = len(ids) // seqlen if count is None else min(count, len(ids) // seqlen)
    return [ids[i * seqlen:(i + 1) * seqlen] for i in range(n)]


def perplexity(nlls: list[float]) -> float:
    """exp of the token-mean NLL; with equal-length windows that is exp of the mean of window means."""
    return math.exp(sum(nlls) / len(nlls))


def dump_json(doc: dict, path: Path) -> None:
    """Indented JSON, but lists of numbers on one line so token ids and NLLs stay readable in a diff."""
    text = json.dumps(doc, indent=1)
    text = re.sub(r"\[\s+([-0-9.eE+,\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    path.write_text(text + "\n")
