"""Reference perplexity of a text or token-id file, by the protocol of /work/shared/REFERENCE.md.

Model: the SmolLM2 GGUF (default) or a Hugging Face folder (config.json + safetensors), e.g. a model
prunelab exported after pruning; pass --tokenizer GGUF when the folder carries no tokenizer.
Input: --text FILE (UTF-8, tokenised once, no special tokens; join documents with "\\n\\n" beforehand)
or --ids FILE (a JSON list of ints, a JSON object with "token_ids", or whitespace-separated ints).
The stream is cut into non-overlapping --seqlen windows (remainder dropped), the first --windows are
evaluated, each from position 0 without BOS; perplexity = exp(token-mean NLL of tokens 2..seqlen).

  tools/reference/.venv/bin/python tools/reference/eval_ppl.py --text eval.txt --seqlen 256 --windows 40
  tools/reference/.venv/bin/python tools/reference/eval_ppl.py --model exported/ \\
      --tokenizer ~/.cache/prunelab/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf --ids ids.json
"""
import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import reflib  # first: hides GPUs before torch loads
import torch


def read_ids(path: Path) -> list[int]:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith(("[", "{")):
        doc = json.loads(text)
        return [int(i) for i in (doc["token_ids"] if isinstance(doc, dict) else doc)]
    return [int(tok) for tok in text.split()]


def model_digest(model: Path) -> dict:
    """SHA-256 of the GGUF file, or of each safetensors shard of a folder, to tie a number to its weights."""
    files = [model] if model.is_file() else sorted(model.glob("*.safetensors"))
    return {f.name: reflib.sha256(f) for f in files}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=reflib.default_gguf(), help="GGUF file or Hugging Face folder")
    ap.add_argument("--tokenizer", type=Path, help="GGUF file or folder with a tokenizer (default: --model)")
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", type=Path, help="UTF-8 text file, tokenised once without special tokens")
    source.add_argument("--ids", type=Path, help="token ids: JSON list, JSON {'token_ids': [...]}, or plain ints")
    ap.add_argument("--seqlen", type=int, default=256, help="window length in tokens (always reported)")
    ap.add_argument("--windows", type=int, help="evaluate only the first N windows (default: all)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--attn", default="eager", choices=["eager", "sdpa"], help="attention kernel (eager = literal math)")
    ap.add_argument("--out", type=Path, help="also write the full result, per-window NLL included, as JSON here")
    args = ap.parse_args()
    if args.seqlen < 2:
        sys.exit("--seqlen must be at least 2: a window predicts tokens 2..seqlen")
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)

    model, tok = reflib.load(args.model, args.tokenizer, attn=args.attn)
    src = args.text or args.ids
    ids = tok(src.read_text(encoding="utf-8"), add_special_tokens=False)["input_ids"] if args.text else read_ids(src)
    chunks = reflib.windows(ids, args.seqlen, args.windows)
    if not chunks:
        sys.exit(f"{src} gives {len(ids)} tokens, fewer than one window of --seqlen {args.seqlen}; use a shorter seqlen")

    nlls, start = [], time.perf_counter()
    for i, window in enumerate(chunks, 1):
        nlls.append(reflib.window_nll(model, window))
        if i % 10 == 0 or i == len(chunks):  # progress on stderr: whole corpora take a while on CPU
            print(f"window {i}/{len(chunks)} ppl so far {reflib.perplexity(nlls):.4f} "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)

    result = {"model": str(args.model), "model_sha256": model_digest(args.model),
              "tokenizer": str(args.tokenizer or args.model), "source": str(src), "source_sha256": reflib.sha256(src),
              "source_tokens": len(ids), "seqlen": args.seqlen, "windows": len(chunks),
              "predicted_tokens": len(chunks) * (args.seqlen - 1), "perplexity": reflib.perplexity(nlls),
              "mean_nll": sum(nlls) / len(nlls), "attn_implementation": args.attn, "versions": reflib.versions(),
              "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])}
    print(json.dumps(result))
    if args.out:
        reflib.dump_json({**result, "window_mean_nll": nlls}, args.out)


if __name__ == "__main__":
    main()
