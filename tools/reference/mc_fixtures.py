"""Reference log-likelihoods and multiple-choice predictions for SmolLM2-135M, scored the way lm-evaluation-harness
scores a `multiple_choice` task with a Hugging Face causal model — written here from the harness's documented
behaviour, independently of prunelab's Java code:

  * prompt per format (lm-eval task YAMLs): hellaswag query/endings with its [title]/bracket clean-up; arc and piqa
    "Question: ...\\nAnswer:"; boolq "{passage}\\nQuestion: {question}?\\nAnswer:" with no/yes; winogrande partial
    scoring (option-filled contexts, one shared continuation); rte "... True or False?\\nAnswer:"; openbookqa the bare
    question_stem; prunelab's own "mc" records (id, context, choices, gold, target_delimiter) for udhr-next/brown-next;
  * continuation = target delimiter (" ") + choice; trailing whitespace of the context moves to the continuation;
  * context and context+continuation tokenised with the tokenizer's defaults; continuation tokens = the whole
    encoding's tail after len(context tokens); the model reads (context + continuation)[:-1];
  * loglik = sum of log_softmax (fp32) at the continuation positions, summed in float64; greedy = all argmax hits;
    choices that share a context run it once and each continuation after a copy of its keys/values (transformers'
    DynamicCache) — the same numbers as one forward of (context + continuation)[:-1] up to float rounding, which the
    script checks on the first item of every task with the literal one-forward computation (`literal_check` in the
    output: the largest difference, nats) — so the ~60k tokens of the fixtures take minutes, not an hour, on 2 cores;
  * acc choice = argmax(loglik), acc_norm choice = argmax(loglik / len(choice text)) (numpy: first maximum).

Writes core/src/test/resources/fixtures/mc/reference.json. Usage (from the repo root):
  tools/reference/.venv/bin/python tools/reference/mc_fixtures.py
      [--model ~/.cache/prunelab/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf]
"""
import argparse
import copy
import json
import re
import shlex
import sys
import time
from pathlib import Path

import reflib  # first: hides GPUs before torch loads
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "core/src/test/resources/fixtures/mc"
FILES = {  # task -> (format, file under FIX)
    "hellaswag": ("hellaswag", "formats/hellaswag.jsonl"),
    "arc": ("arc", "formats/arc.jsonl"),
    "piqa": ("piqa", "formats/piqa.jsonl"),
    "boolq": ("boolq", "formats/boolq.jsonl"),
    "winogrande": ("winogrande", "formats/winogrande.jsonl"),
    "rte": ("rte", "formats/rte.jsonl"),
    "openbookqa": ("openbookqa", "formats/openbookqa.jsonl"),
    "udhr-next": ("mc", "builtin/udhr-next-swh.jsonl"),
    "brown-next": ("mc", "builtin/brown-next.jsonl"),
}


def hellaswag_clean(text: str) -> str:
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def shared(context: str, texts: list[str], gold: int, delim: str = " "):
    return [(context, delim + t, t) for t in texts], gold


def item(fmt: str, d: dict):
    """(list of (context, continuation, choice text), gold index) of one record."""
    if fmt == "hellaswag":
        query = hellaswag_clean(d["activity_label"] + ": " + d["ctx_a"] + " " + d["ctx_b"].capitalize())
        return shared(query, [hellaswag_clean(e) for e in d["endings"]], int(d["label"]))
    if fmt == "arc":
        return shared(f"Question: {d['question']}\nAnswer:", d["choices"]["text"], d["choices"]["label"].index(d["answerKey"]))
    if fmt == "piqa":
        return shared(f"Question: {d['goal']}\nAnswer:", [d["sol1"], d["sol2"]], d["label"])
    if fmt == "boolq":
        gold = int(d["answer"]) if "answer" in d else d["label"]
        return shared(f"{d['passage']}\nQuestion: {d['question']}?\nAnswer:", ["no", "yes"], gold)
    if fmt == "winogrande":
        cut = d["sentence"].index("_")
        target = d["sentence"][cut + 1:].strip()
        contexts = [d["sentence"][:cut] + o for o in (d["option1"], d["option2"])]
        return [(c, " " + target, c) for c in contexts], {"1": 0, "2": 1}[d["answer"]]
    if fmt == "rte":
        a, b = (d["sentence1"], d["sentence2"]) if "sentence1" in d else (d["premise"], d["hypothesis"])
        return shared(f"{a}\nQuestion: {b} True or False?\nAnswer:", ["True", "False"], d["label"])
    if fmt == "openbookqa":
        return shared(d["question_stem"], d["choices"]["text"], d["choices"]["label"].index(d["answerKey"].lstrip()))
    if fmt == "mc":
        return shared(d["context"], d["choices"], d["gold"], d.get("target_delimiter", " "))
    raise ValueError(fmt)


def encode_pair(tok, context: str, continuation: str):
    n = len(context) - len(context.rstrip())
    if n:
        continuation = context[-n:] + continuation
        context = context[:-n]
    whole = tok(context + continuation)["input_ids"]
    ctx = tok(context)["input_ids"]
    return ctx, whole[len(ctx):]


def score(logprobs, cont: list[int]):
    """(sum of the continuation tokens' log-probabilities in float64, all greedy) from rows (len(cont), V)."""
    target = torch.tensor(cont)
    picked = logprobs.gather(1, target[:, None])[:, 0]
    greedy = bool((logprobs.argmax(dim=-1) == target).all())
    return float(picked.double().sum()), greedy


@torch.no_grad()
def loglikelihood(model, ctx: list[int], cont: list[int]):
    """lm-eval's literal computation: one forward of (ctx + cont)[:-1], the last len(cont) rows scored."""
    ids = torch.tensor([(ctx + cont)[:-1]], dtype=torch.long)
    logprobs = torch.log_softmax(model(ids, use_cache=False).logits[0].float(), dim=-1)[-len(cont):]  # (len(cont), V)
    return score(logprobs, cont)


@torch.no_grad()
def loglikelihoods_shared(model, ctx: list[int], conts: list[list[int]]):
    """The same for several continuations of one context: the context runs once, each continuation after a copy of
    its cache; row 0 of a continuation is the context's last row."""
    out = model(torch.tensor([ctx], dtype=torch.long), use_cache=True)
    last = torch.log_softmax(out.logits[0, -1:].float(), dim=-1)  # (1, V): predicts each continuation's first token
    results = []
    for cont in conts:
        rows = [last]
        if len(cont) > 1:
            more = model(torch.tensor([cont[:-1]], dtype=torch.long), past_key_values=copy.deepcopy(out.past_key_values),
                         use_cache=True)
            rows.append(torch.log_softmax(more.logits[0].float(), dim=-1))
        results.append(score(torch.cat(rows), cont))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description="lm-eval-style multiple-choice reference fixtures")
    ap.add_argument("--model", type=Path, default=reflib.default_gguf())
    ap.add_argument("--out", type=Path, default=FIX / "reference.json")
    ap.add_argument("--only", action="append", default=[], metavar="TASK",
                    help="recompute only this task (repeatable); the others are kept from --out as they are")
    args = ap.parse_args()
    unknown = [t for t in args.only if t not in FILES]
    if unknown:
        sys.exit(f"mc_fixtures: unknown task(s) {unknown}; tasks: {list(FILES)}")
    model, tok = reflib.load(args.model)
    torch.set_num_threads(2)
    doc = {"generator": "tools/reference/mc_fixtures.py",
           "command": " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
           "model": args.model.name, "model_sha256": reflib.sha256(args.model), "versions": reflib.versions(),
           "literal_check": 0.0, "tasks": {}}
    if args.only:
        kept = json.loads(args.out.read_text(encoding="utf-8"))
        doc["tasks"] = kept["tasks"]
        doc["literal_check"] = kept["literal_check"]
    start = time.time()
    for task, (fmt, rel) in FILES.items():
        if args.only and task not in args.only:
            continue
        rows = [json.loads(line) for line in (FIX / rel).read_text(encoding="utf-8").splitlines() if line.strip()]
        out = []
        for n, d in enumerate(rows):
            choices, gold = item(fmt, d)
            pairs = [encode_pair(tok, context, continuation) for context, continuation, _ in choices]
            groups = {}  # context ids -> indices of the choices with that context
            for i, (ctx, _) in enumerate(pairs):
                groups.setdefault(tuple(ctx), []).append(i)
            lls = [None] * len(pairs)
            for ctx, idx in groups.items():
                for i, r in zip(idx, loglikelihoods_shared(model, list(ctx), [pairs[i][1] for i in idx])):
                    lls[i] = r
            if n == 0:  # the literal one-forward computation agrees
                for i, (ctx, cont) in enumerate(pairs):
                    literal = loglikelihood(model, ctx, cont)
                    doc["literal_check"] = max(doc["literal_check"], abs(literal[0] - lls[i][0]))
                    assert literal[1] == lls[i][1] or abs(literal[0] - lls[i][0]) < 1e-3, (task, i)
            scored = []
            for (context, continuation, text), (ctx, cont), (ll, greedy) in zip(choices, pairs, lls):
                scored.append({"context_tokens": len(ctx), "continuation_ids": cont, "loglik": ll, "greedy": greedy,
                               "chars": len(text)})
            lls = np.array([c["loglik"] for c in scored])
            lens = np.array([float(c["chars"]) for c in scored])
            out.append({"gold": gold, "choices": scored, "pred": int(np.argmax(lls)),
                        "pred_norm": int(np.argmax(lls / lens))})
        acc = sum(o["pred"] == o["gold"] for o in out) / len(out)
        print(f"{task}: {len(out)} items, acc {acc:.2f}  ({time.time() - start:.0f} s)", file=sys.stderr)
        doc["tasks"][task] = out
    reflib.dump_json(doc, args.out)
    print(f"wrote {args.out}; shared-context vs literal forward on each task's first item: max |diff| "
          f"{doc['literal_check']:.2e} nats", file=sys.stderr)


if __name__ == "__main__":
    main()
