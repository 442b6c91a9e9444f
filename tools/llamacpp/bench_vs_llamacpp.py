#!/usr/bin/env python3
"""Paired speed comparison of prunelab against llama.cpp on one GGUF file, and llama-perplexity's PPL.

Python 3 standard library only. Run through bench_vs_llamacpp.sh (same arguments).

Speed (default mode): N rounds; each round runs llama.cpp (llama-bench) and prunelab (./prunelab bench) once each
on the same GGUF file with the same thread count, the order alternating between rounds (llama.cpp first in odd
rounds, prunelab first in even ones) so that drift in the machine's load falls on both sides alike. Per round it
prints both sides' prefill and decode tokens/s and the ratio prunelab / llama.cpp; at the end the medians over rounds.

  llama.cpp:  llama-bench -m FILE -t T -p P -n 0 -d 0 -r 1 -o json         (prefill P tokens into an empty cache)
              llama-bench -m FILE -t T -p 0 -n G -d D -r 1 -o json         (decode G tokens after D tokens of context)
  prunelab:   ./prunelab bench --model FILE --threads T --prompt-len P --gen G --repeat 1 --warmup 1
                  --format dense --json --no-track

D (--decode-depth) defaults to P: prunelab decodes its G tokens after prefilling the P-token prompt, so its decode
runs at context depth P..P+G-1, and llama-bench's tg at -d P does the same. --decode-depth 0 gives llama-bench's
plain tg test (decode from an empty cache), which is faster and not what prunelab measures.

Perplexity (--ppl): llama-perplexity -m FILE -f TEXT -c C -b B -t T; prints llama.cpp's final estimate. See
tools/llamacpp/README.md for llama-perplexity's protocol and how it differs from prunelab eval's.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def prunelab_home() -> Path:
    return Path(os.environ.get("PRUNELAB_HOME", str(Path.home() / ".cache" / "prunelab")))


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return [float("nan")] * 3


def cores() -> int:
    return os.cpu_count() or 1


def warn_if_busy(when: str) -> str | None:
    la = loadavg()
    limit = 0.5 * cores()
    if la[0] > limit:
        msg = (f"warning: load average (1 min) {la[0]:.2f} {when} is above 0.5 x {cores()} cores = {limit:.1f}: "
               f"other work is running, so timings carry its noise (alternating the sides spreads it over both, "
               f"it does not remove it); rerun on an idle machine for speed numbers to quote")
        print(msg, file=sys.stderr)
        return msg
    return None


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def llama_pin(bin_dir: Path) -> str:
    pin = bin_dir.parent / "PIN"
    return pin.read_text().split(" flags=")[0].strip() if pin.is_file() else "unknown"


def find_bin(bin_dir: Path, name: str) -> Path:
    p = bin_dir / name
    if not os.access(p, os.X_OK):
        sys.exit(f"bench_vs_llamacpp: {p} not found; build it with tools/llamacpp/build.sh (or pass --llama-bin DIR)")
    return p


def run(cmd: list[str], what: str, env: dict | None = None) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-4000:])
        sys.exit(f"bench_vs_llamacpp: {what} failed (exit {p.returncode}): {shlex.join(cmd)}")
    return p


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


# ---------------------------------------------------------------------------------------------------------------
# speed

def llama_env(pairs: list[str]) -> dict | None:
    """The environment for llama.cpp's processes: ours plus --llama-env KEY=VALUE pairs (None: unchanged)."""
    if not pairs:
        return None
    env = dict(os.environ)
    for kv in pairs:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            sys.exit(f"bench_vs_llamacpp: --llama-env wants KEY=VALUE, got {kv!r}")
        env[k] = v
    return env


def llama_bench(exe: Path, model: Path, threads: int, prompt: int, gen: int, depth: int, extra: list[str],
                env: dict | None = None) -> dict:
    base = [str(exe), "-m", str(model), "-t", str(threads), "-r", "1", "-o", "json", *extra]
    pp_cmd = base + ["-p", str(prompt), "-n", "0", "-d", "0"]
    tg_cmd = base + ["-p", "0", "-n", str(gen), "-d", str(depth)]
    t0 = time.time()
    pp = json.loads(run(pp_cmd, "llama-bench (prefill)", env).stdout)
    tg = json.loads(run(tg_cmd, "llama-bench (decode)", env).stdout)
    if len(pp) != 1 or len(tg) != 1:
        sys.exit(f"bench_vs_llamacpp: expected one test per llama-bench run, got {len(pp)} and {len(tg)}")
    pp, tg = pp[0], tg[0]
    return {"prefill_tokens_per_s": float(pp["avg_ts"]), "decode_tokens_per_s": float(tg["avg_ts"]),
            "wall_s": time.time() - t0, "commands": [shlex.join(pp_cmd), shlex.join(tg_cmd)],
            "info": {k: pp.get(k) for k in ("build_commit", "build_number", "cpu_info", "backends", "model_type",
                                             "model_size", "model_n_params", "n_batch", "n_ubatch", "flash_attn",
                                             "type_k", "type_v", "use_mmap", "n_threads", "cpu_mask", "poll")}}


def prunelab_bench(launcher: Path, model: Path, threads: int, prompt: int, gen: int, fmt: str, warmup: int,
                   extra: list[str]) -> dict:
    cmd = [str(launcher), "bench", "--model", str(model), "--threads", str(threads), "--prompt-len", str(prompt),
           "--gen", str(gen), "--repeat", "1", "--warmup", str(warmup), "--format", fmt, "--json", "--no-track", *extra]
    t0 = time.time()
    out = run(cmd, "prunelab bench").stdout
    o = json.loads(out)
    if "error" in o:
        sys.exit(f"bench_vs_llamacpp: prunelab bench error: {o['error']}")
    return {"prefill_tokens_per_s": float(o["prefill_tokens_per_s"]), "decode_tokens_per_s": float(o["decode_tokens_per_s"]),
            "wall_s": time.time() - t0, "commands": [shlex.join(cmd)],
            "info": {k: o.get(k) for k in ("model", "format", "format_counts", "threads", "gemm_backend",
                                            "model_bytes", "model_file_bytes", "peak_rss_bytes", "prompt_len", "gen")}}


def speed(args) -> int:
    model = Path(args.model).resolve()
    if not model.is_file():
        sys.exit(f"bench_vs_llamacpp: no such GGUF file: {model}")
    bin_dir = Path(args.llama_bin) if args.llama_bin else prunelab_home() / "llama.cpp" / "bin"
    exe = find_bin(bin_dir, "llama-bench")
    launcher = Path(args.prunelab).resolve()
    depth = args.prompt if args.decode_depth is None else args.decode_depth
    llama_extra = shlex.split(args.llama_args or "")
    prunelab_extra = shlex.split(args.prunelab_args or "")

    warnings = []
    load_before = loadavg()
    w = warn_if_busy("before the first round")
    if w:
        warnings.append(w)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    print(f"model {model.name}, {args.threads} threads, prefill {args.prompt} tokens, decode {args.gen} tokens at depth "
          f"{depth} (llama.cpp{', ' + ' '.join(args.llama_env) if args.llama_env else ''}) / after the {args.prompt}-token prompt (prunelab), {args.rounds} rounds, alternating; "
          f"load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} ({cores()} cores)", file=sys.stderr)

    rounds = []
    hdr = f"{'round':>5} {'first':>9} | {'llama pp t/s':>12} {'prunelab pp':>12} {'ratio':>6} | {'llama tg t/s':>12} {'prunelab tg':>12} {'ratio':>6} | load1"
    print(hdr)
    for r in range(1, args.rounds + 1):
        order = ["llama.cpp", "prunelab"] if r % 2 == 1 else ["prunelab", "llama.cpp"]
        res = {}
        la = loadavg()[0]
        for side in order:
            if side == "llama.cpp":
                res[side] = llama_bench(exe, model, args.threads, args.prompt, args.gen, depth, llama_extra,
                                        llama_env(args.llama_env))
            else:
                res[side] = prunelab_bench(launcher, model, args.threads, args.prompt, args.gen, args.prunelab_format,
                                           args.prunelab_warmup, prunelab_extra)
        l, p = res["llama.cpp"], res["prunelab"]
        row = {"round": r, "first": order[0], "load1_at_start": la,
               "llama_cpp": {k: l[k] for k in ("prefill_tokens_per_s", "decode_tokens_per_s", "wall_s")},
               "prunelab": {k: p[k] for k in ("prefill_tokens_per_s", "decode_tokens_per_s", "wall_s")},
               "ratio_prefill": p["prefill_tokens_per_s"] / l["prefill_tokens_per_s"],
               "ratio_decode": p["decode_tokens_per_s"] / l["decode_tokens_per_s"]}
        rounds.append(row)
        print(f"{r:>5} {order[0]:>9} | {l['prefill_tokens_per_s']:12.1f} {p['prefill_tokens_per_s']:12.1f} "
              f"{row['ratio_prefill']:6.3f} | {l['decode_tokens_per_s']:12.2f} {p['decode_tokens_per_s']:12.2f} "
              f"{row['ratio_decode']:6.3f} | {la:.2f}", flush=True)
        if r == 1:
            llama_info, prunelab_info = l["info"], p["info"]
            llama_cmds, prunelab_cmds = l["commands"], p["commands"]

    load_after = loadavg()
    w = warn_if_busy("after the last round")
    if w:
        warnings.append(w)

    def med(side, key):
        return median([x[side][key] for x in rounds])

    summary = {
        "mode": "speed",
        "model_file": str(model), "model_file_bytes": model.stat().st_size,
        "threads": args.threads, "prompt_tokens": args.prompt, "gen_tokens": args.gen, "llama_decode_depth": depth,
        "rounds": args.rounds, "started_utc": started, "cores": cores(),
        "load_average_before": load_before, "load_average_after": load_after, "warnings": warnings,
        "prunelab_commit": git_commit(), "llama_cpp_pin": llama_pin(bin_dir),
        "llama_cpp_env": args.llama_env or [], "llama_cpp_commands": llama_cmds, "prunelab_command": prunelab_cmds[0],
        "llama_cpp_info": llama_info, "prunelab_info": prunelab_info,
        "per_round": rounds,
        "median": {
            "llama_cpp_prefill_tokens_per_s": med("llama_cpp", "prefill_tokens_per_s"),
            "prunelab_prefill_tokens_per_s": med("prunelab", "prefill_tokens_per_s"),
            "llama_cpp_decode_tokens_per_s": med("llama_cpp", "decode_tokens_per_s"),
            "prunelab_decode_tokens_per_s": med("prunelab", "decode_tokens_per_s"),
            "ratio_prefill": median([x["ratio_prefill"] for x in rounds]),
            "ratio_decode": median([x["ratio_decode"] for x in rounds]),
        },
        "notes": [
            "ratio = prunelab tokens/s / llama.cpp tokens/s, per round, median over rounds (>1: prunelab faster)",
            "prunelab runs the execution format --prunelab-format names: auto (default) runs a GGUF whose block "
            "linears are all Q8_0 or all Q4_0 on its blocks (the LM head as Q8_0) and anything else in fp32; dense "
            "forces fp32 (every GGUF type dequantised)",
            "prefill: both sides process the prompt as one batch and compute the last position's logits; "
            "decode: one token at a time, logits over the vocabulary each step",
        ],
    }
    m = summary["median"]
    print(f"median over {args.rounds} rounds: prefill llama.cpp {m['llama_cpp_prefill_tokens_per_s']:.1f} t/s, prunelab "
          f"{m['prunelab_prefill_tokens_per_s']:.1f} t/s, ratio {m['ratio_prefill']:.3f}; decode llama.cpp "
          f"{m['llama_cpp_decode_tokens_per_s']:.2f} t/s, prunelab {m['prunelab_decode_tokens_per_s']:.2f} t/s, "
          f"ratio {m['ratio_decode']:.3f}")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} ({cores()} cores)")
    write_outputs(args, summary, markdown_speed(summary), f"{model.stem}-t{args.threads}")
    return 0


def markdown_speed(s: dict) -> str:
    m = s["median"]
    li, pi = s["llama_cpp_info"], s["prunelab_info"]
    lines = [
        f"## prunelab vs llama.cpp: {Path(s['model_file']).name}, {s['threads']} threads",
        "",
        f"Measured {s['started_utc']} under load average {s['load_average_before'][0]:.2f} (1 min) before and "
        f"{s['load_average_after'][0]:.2f} after, on {s['cores']} cores; prunelab commit {s['prunelab_commit']}, "
        f"llama.cpp {s['llama_cpp_pin']} ({li.get('cpu_info')}, backends {li.get('backends')}, "
        f"model type {li.get('model_type')}).",
        "",
        f"Prefill {s['prompt_tokens']} tokens from an empty cache; decode {s['gen_tokens']} tokens after "
        f"{s['llama_decode_depth']} tokens of context. {s['rounds']} rounds, the order alternating; "
        f"ratio = prunelab / llama.cpp tokens/s.",
        "",
        "| round | first | llama.cpp prefill t/s | prunelab prefill t/s | ratio | llama.cpp decode t/s | prunelab decode t/s | ratio | load (1 min) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in s["per_round"]:
        lines.append(f"| {r['round']} | {r['first']} | {r['llama_cpp']['prefill_tokens_per_s']:.1f} | "
                     f"{r['prunelab']['prefill_tokens_per_s']:.1f} | {r['ratio_prefill']:.3f} | "
                     f"{r['llama_cpp']['decode_tokens_per_s']:.2f} | {r['prunelab']['decode_tokens_per_s']:.2f} | "
                     f"{r['ratio_decode']:.3f} | {r['load1_at_start']:.2f} |")
    lines.append(f"| **median** | | **{m['llama_cpp_prefill_tokens_per_s']:.1f}** | **{m['prunelab_prefill_tokens_per_s']:.1f}** | "
                 f"**{m['ratio_prefill']:.3f}** | **{m['llama_cpp_decode_tokens_per_s']:.2f}** | "
                 f"**{m['prunelab_decode_tokens_per_s']:.2f}** | **{m['ratio_decode']:.3f}** | |")
    lines += ["", f"prunelab: format {pi.get('format')} {json.dumps(pi.get('format_counts'))}, gemm backend "
              f"{pi.get('gemm_backend')}, model bytes in memory {pi.get('model_bytes')}; "
              f"llama.cpp: n_batch {li.get('n_batch')}, n_ubatch {li.get('n_ubatch')}, flash_attn {li.get('flash_attn')} (-1 = auto), "
              f"KV {li.get('type_k')}/{li.get('type_v')}.", "", "Commands (first round):", "", "```"]
    env = " ".join(s["llama_cpp_env"])
    lines += [(env + " " if env else "") + c for c in s["llama_cpp_commands"]] + [s["prunelab_command"], "```"]
    for w in s["warnings"]:
        lines += ["", "**" + w + "**"]
    for n in s["notes"]:
        lines += ["", "- " + n]
    return "\n".join(lines) + "\n"


def write_outputs(args, summary: dict, md: str, stem: str) -> None:
    if args.out:
        base = Path(args.out)
        if base.suffix in (".json", ".md"):
            base = base.with_suffix("")
    else:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        base = prunelab_home() / "llama.cpp" / "results" / f"{summary['mode']}-{stem}-{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    base.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    base.with_suffix(".md").write_text(md)
    print(f"wrote {base.with_suffix('.json')} and {base.with_suffix('.md')}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------------
# perplexity

# Java's Character.isWhitespace, which String.strip() and String.isBlank() use (prunelab's PlainTextCorpus).
_JAVA_WS = set("\t\n\u000b\f\r\u001c\u001d\u001e\u001f \u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
               "\u2008\u2009\u200a\u2028\u2029\u205f\u3000")


def _jstrip(s: str) -> str:
    i, j = 0, len(s)
    while i < j and s[i] in _JAVA_WS:
        i += 1
    while j > i and s[j - 1] in _JAVA_WS:
        j -= 1
    return s[i:j]


def prunelab_whole_text(path: Path) -> str:
    """The text prunelab eval --split all evaluates for a plain text file (PlainTextCorpus.load + wholeText):
    CRLF -> LF, split into paragraphs at blank lines (regex \\n[ \\t]*\\n), each stripped, blank ones dropped,
    joined with one blank line."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    paras = [_jstrip(p) for p in re.split(r"\n[ \t]*\n", text)]
    return "\n\n".join(p for p in paras if p)


FINAL_RE = re.compile(r"Final estimate: PPL = ([0-9.]+|nan|inf) \+/- ([0-9.]+|nan|inf)")
# perplexity(): "calculating perplexity over N chunks, ..."; perplexity_v2 (--ppl-stride): "computing over N chunks, ...".
CHUNKS_RE = re.compile(r"(?:calculating perplexity|computing) over (\d+) chunks, n_ctx=(\d+), batch_size=(\d+), n_seq=(\d+)")
# The running estimate after each chunk, "[1]27.7520,[2]26.4398,...": perplexity_v2 prints no "Final estimate" line.
RUNNING_RE = re.compile(r"\[(\d+)\]([0-9.]+|nan|inf),")


def ppl(args) -> int:
    model = Path(args.model).resolve()
    text = Path(args.text).resolve()
    if not model.is_file():
        sys.exit(f"bench_vs_llamacpp: no such GGUF file: {model}")
    if not text.is_file():
        sys.exit(f"bench_vs_llamacpp: no such text file: {text}")
    bin_dir = Path(args.llama_bin) if args.llama_bin else prunelab_home() / "llama.cpp" / "bin"
    exe = find_bin(bin_dir, "llama-perplexity")
    warnings = [w for w in [warn_if_busy("before llama-perplexity")] if w]
    fed = text
    tmp = None
    if args.normalize:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8")
        tmp.write(prunelab_whole_text(text))
        tmp.close()
        fed = Path(tmp.name)
    cmd = [str(exe), "-m", str(model), "-f", str(fed), "-c", str(args.ctx), "-b", str(args.batch),
           "-t", str(args.threads), *shlex.split(args.llama_args or "")]
    if args.chunks:
        cmd += ["--chunks", str(args.chunks)]
    if args.ppl_stride:
        cmd += ["--ppl-stride", str(args.ppl_stride)]
    load_before = loadavg()
    t0 = time.time()
    p = run(cmd, "llama-perplexity", llama_env(args.llama_env))
    seconds = time.time() - t0
    if tmp:
        os.unlink(tmp.name)
    log = p.stdout + "\n" + p.stderr
    fm = FINAL_RE.search(log)
    running = RUNNING_RE.findall(log)
    if fm:
        value, err = float(fm.group(1)), float(fm.group(2))
    elif args.ppl_stride and running:
        value, err = float(running[-1][1]), float("nan")     # strided mode: the last running estimate is the result
    else:
        sys.stderr.write(log[-3000:])
        sys.exit("bench_vs_llamacpp: no 'Final estimate: PPL = ...' line in llama-perplexity's output")
    cm = CHUNKS_RE.search(log)
    n_chunk, n_ctx = (int(cm.group(1)), int(cm.group(2))) if cm else (None, args.ctx)
    # Predictions scored per chunk: the second half of each window (n_ctx - n_ctx/2 - 1), or with --ppl-stride S the
    # last S of each window of n_ctx = C + S/2 (padded up to a multiple of 256 by llama.cpp) tokens starting at i*S.
    per_chunk = args.ppl_stride if args.ppl_stride else n_ctx - n_ctx // 2 - 1
    summary = {
        "mode": "ppl", "model_file": str(model), "text_file": str(text), "normalized_like_prunelab": args.normalize,
        "ctx": args.ctx, "batch": args.batch, "threads": args.threads, "llama_cpp_env": args.llama_env or [],
        "command": shlex.join(cmd),
        "ppl_stride": args.ppl_stride, "llama_cpp_ppl": value, "llama_cpp_ppl_stderr": err,
        "running_ppl": [float(v) for _, v in running],
        "chunks": n_chunk, "window_tokens": n_ctx, "scored_per_chunk": per_chunk,
        "scored_tokens": None if n_chunk is None else n_chunk * per_chunk,
        "seconds": seconds, "load_average_before": load_before, "load_average_after": loadavg(),
        "prunelab_commit": git_commit(), "llama_cpp_pin": llama_pin(bin_dir), "warnings": warnings,
    }
    print(f"llama-perplexity: PPL = {summary['llama_cpp_ppl']:.4f} +/- {summary['llama_cpp_ppl_stderr']:.5f} "
          f"({n_chunk} chunks of {n_ctx}, scoring the last {per_chunk} predictions of each: "
          f"{summary['scored_tokens']} tokens; {seconds:.1f} s)")
    seqlen = args.prunelab_seqlen or args.ctx
    if args.with_prunelab:
        pcmd = [str(Path(args.prunelab).resolve()), "eval", "--model", str(model), "--dataset", str(text),
                "--split", "all", "--seqlen", str(seqlen), "--threads", str(args.threads), "--json", "--no-track"]
        if args.chunks:
            pcmd += ["--windows", str(args.chunks)]
        o = json.loads(run(pcmd, "prunelab eval").stdout)
        summary["prunelab_eval"] = {"command": shlex.join(pcmd), **{k: o.get(k) for k in (
            "perplexity", "mean_nll", "tokens", "windows", "seqlen", "add_bos_token", "seconds")}}
        print(f"prunelab eval:    PPL = {o.get('perplexity'):.4f} ({o.get('windows')} windows of {o.get('seqlen')}, "
              f"scoring all {seqlen - 1} predictions of each; add_bos_token {o.get('add_bos_token')}); "
              f"{'windows at stride ' + str(args.ppl_stride) + ' vs ' + str(seqlen) if args.ppl_stride else 'a different protocol'}: "
              f"see tools/llamacpp/README.md")
    md = [f"## llama-perplexity: {model.name} on {text.name}", "",
          f"`{summary['command']}`", "",
          f"PPL = {summary['llama_cpp_ppl']:.4f} +/- {summary['llama_cpp_ppl_stderr']:.5f} over {n_chunk} chunks of "
          f"{n_ctx} tokens (last {per_chunk} predictions of each scored); text "
          f"{'normalised as prunelab reads it' if args.normalize else 'as is'}; load average "
          f"{load_before[0]:.2f} before; prunelab commit {summary['prunelab_commit']}, llama.cpp {summary['llama_cpp_pin']}."]
    if "prunelab_eval" in summary:
        pe = summary["prunelab_eval"]
        md += ["", f"prunelab eval (all {seqlen - 1} predictions per window of {seqlen}): "
                   f"PPL = {pe['perplexity']:.4f} over {pe['windows']} windows; `{pe['command']}`"]
    write_outputs(args, summary, "\n".join(md) + "\n", f"{model.stem}-{text.stem}-c{args.ctx}")
    return 0


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    ap = argparse.ArgumentParser(prog="bench_vs_llamacpp.sh", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="GGUF file (both sides read this same file)")
    ap.add_argument("--threads", "-t", type=int, default=2, help="threads for both sides (default 2)")
    ap.add_argument("--out", help="output path (PATH.json and PATH.md; default "
                                  "$PRUNELAB_HOME/llama.cpp/results/<mode>-<model>-...-<time>)")
    ap.add_argument("--llama-bin", help="folder with llama-bench / llama-perplexity "
                                        "(default $PRUNELAB_HOME/llama.cpp/bin, what build.sh makes)")
    ap.add_argument("--llama-args", help="extra arguments for llama-bench / llama-perplexity, one string")
    ap.add_argument("--llama-env", action="append", metavar="KEY=VALUE",
                    help="environment for llama.cpp's processes, repeatable (e.g. OMP_WAIT_POLICY=passive on a busy "
                         "machine; see README); recorded in the summary")
    ap.add_argument("--prunelab", default=str(ROOT / "prunelab"), help="the prunelab launcher (default: this checkout's)")
    sp = ap.add_argument_group("speed (default mode)")
    sp.add_argument("--rounds", type=int, default=5, help="rounds, each one run of each side (default 5)")
    sp.add_argument("--prompt", type=int, default=512, help="prefill tokens (default 512)")
    sp.add_argument("--gen", type=int, default=64, help="decoded tokens (default 64)")
    sp.add_argument("--decode-depth", type=int, help="llama-bench -d for the decode test (default: --prompt, which is "
                                                     "where prunelab's decode starts)")
    sp.add_argument("--prunelab-format", default="auto",
                    help="prunelab bench --format (default auto: a Q8_0 / Q4_0 file runs on its blocks)")
    sp.add_argument("--prunelab-warmup", type=int, default=1, help="prunelab bench --warmup (default 1)")
    sp.add_argument("--prunelab-args", help="extra arguments for prunelab bench, one string")
    pp = ap.add_argument_group("perplexity (--ppl)")
    pp.add_argument("--ppl", action="store_true", help="run llama-perplexity instead of the speed comparison")
    pp.add_argument("--text", help="text file to evaluate (--ppl)")
    pp.add_argument("--ctx", "-c", type=int, default=512, help="llama-perplexity -c (default 512)")
    pp.add_argument("--batch", "-b", type=int, default=512, help="llama-perplexity -b (default 512)")
    pp.add_argument("--chunks", type=int, help="llama-perplexity --chunks N (first N windows only)")
    pp.add_argument("--ppl-stride", type=int, help="llama-perplexity --ppl-stride S (strided mode; see README: "
                                                   "-c 257 --ppl-stride 511 scores all 511 predictions of 512-token windows)")
    pp.add_argument("--normalize", action="store_true", help="feed llama-perplexity the text as prunelab eval "
                                                             "--split all reads it (paragraphs stripped, joined by one blank line)")
    pp.add_argument("--prunelab-seqlen", type=int, help="prunelab eval --seqlen for --with-prunelab (default: --ctx)")
    pp.add_argument("--with-prunelab", action="store_true", help="also run prunelab eval --split all on the same file "
                                                                 "(its own protocol; printed beside, not compared)")
    args = ap.parse_args()
    if args.threads < 1 or args.rounds < 1:
        ap.error("--threads and --rounds must be at least 1")
    if args.ppl:
        if not args.text:
            ap.error("--ppl needs --text FILE")
        return ppl(args)
    return speed(args)


if __name__ == "__main__":
    sys.exit(main())
