#!/usr/bin/env bash
# Compares prunelab's perplexity with llama.cpp's on GGUF exports of the same models (GgufExporter), on the same
# text, protocol for protocol. Writes $OUT/compare.md.
#
#   tools/gguf/llamacpp_perplexity.sh                                  # SmolLM2: dense, Wanda 50%, Wanda 2:4, FASP 25%; F32 + Q8_0
#   MODEL=gemma3-270m VARIANTS=dense TYPES=f32,q8_0,q4_0 CHUNKS=8 tools/gguf/llamacpp_perplexity.sh
#
# 1. The Java harness (core test scope, org.prunelab.arch.GgufLlamaCppCompare) builds the variants (calibration:
#    Brown, NSAMPLES x 512 tokens, seed 0), exports each with GgufExporter, writes the Brown evaluation text
#    ($OUT/text.txt: the evaluation documents joined by a blank line) and prunelab's token ids of it, and measures
#    prunelab's perplexity two ways: prunelab's protocol (non-overlapping NCTX windows, every position scored from 0)
#    and llama-perplexity's (same chunks, BOS in front where the tokenizer adds one, only the second half scored;
#    eval/LlamaCppPerplexity), on the model in memory and, for block types, on the GGUF read back by prunelab.
# 2. llama-perplexity (the build of tools/llamacpp/build.sh under $PRUNELAB_HOME/llama.cpp/bin) runs on every .gguf
#    with -c NCTX -b NCTX --chunks CHUNKS and an F32 KV cache (-ctk f32 -ctv f32, so the cache adds no rounding).
# Environment: OUT (default /tmp/prunelab-gguf-compare/$MODEL), MODEL (smollm2-135m), VARIANTS, TYPES, NCTX (512),
# CHUNKS (16), NSAMPLES (16), THREADS (2), PRUNELAB_HOME. Needs the core module compiled (mvn -pl core test-compile).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODEL="${MODEL:-smollm2-135m}"
VARIANTS="${VARIANTS:-dense,wanda50,wanda24,fasp25}"
TYPES="${TYPES:-f32,q8_0}"
NCTX="${NCTX:-512}"; CHUNKS="${CHUNKS:-16}"; NSAMPLES="${NSAMPLES:-16}"; THREADS="${THREADS:-2}"
OUT="${OUT:-/tmp/prunelab-gguf-compare/$MODEL}"
HOME_DIR="${PRUNELAB_HOME:-$HOME/.cache/prunelab}"
BIN="$HOME_DIR/llama.cpp/bin"
[ -x "$BIN/llama-perplexity" ] || { echo "no llama-perplexity in $BIN: run tools/llamacpp/build.sh" >&2; exit 1; }
JAVA="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
mkdir -p "$OUT"

if [ "${SKIP_JAVA:-0}" != 1 ]; then
  (cd "$ROOT" && mvn -B -ntp -o -q -pl core test-compile dependency:build-classpath -Dmdep.outputFile="$OUT/classpath.txt" \
     -Dmdep.includeScope=test) >&2
  "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx8g -XX:+UseParallelGC \
    -cp "$ROOT/core/target/classes:$ROOT/core/target/test-classes:$(cat "$OUT/classpath.txt")" \
    org.prunelab.arch.GgufLlamaCppCompare out="$OUT" model="$MODEL" variants="$VARIANTS" types="$TYPES" \
    nctx="$NCTX" chunks="$CHUNKS" nsamples="$NSAMPLES" 2> >(grep -v '^WARNING' >&2)
fi

LL="$OUT/llamacpp.tsv"
[ -f "$LL" ] || printf 'file\tperplexity\tplusminus\tseconds\n' > "$LL"
for f in "$OUT"/*.gguf; do
  name="$(basename "$f")"
  grep -q "^$name	" "$LL" && continue
  echo "llama-perplexity $name" >&2
  start=$(date +%s)
  "$BIN/llama-perplexity" -m "$f" -f "$OUT/text.txt" -c "$NCTX" -b "$NCTX" --chunks "$CHUNKS" -t "$THREADS" \
      -ctk f32 -ctv f32 > "$OUT/${name%.gguf}.llama.log" 2>&1 || { echo "llama-perplexity failed on $name: see $OUT/${name%.gguf}.llama.log" >&2; continue; }
  est="$(grep -o 'Final estimate: PPL = [0-9.]* +/- [0-9.]*' "$OUT/${name%.gguf}.llama.log")"
  printf '%s\t%s\t%s\t%s\n' "$name" "$(echo "$est" | awk '{print $5}')" "$(echo "$est" | awk '{print $7}')" "$(( $(date +%s) - start ))" >> "$LL"
done

python3 - "$OUT" "$MODEL" "$NCTX" "$CHUNKS" <<'PY'
import csv, sys, os
out, model, nctx, chunks = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
pl = list(csv.DictReader(open(os.path.join(out, "prunelab.tsv")), delimiter="\t"))
ll = {r["file"]: r for r in csv.DictReader(open(os.path.join(out, "llamacpp.tsv")), delimiter="\t")}
def p(variant, typ, weights, protocol):
    for r in pl:
        if (r["variant"], r["type"], r["weights"], r["protocol"]) == (variant, typ, weights, protocol):
            return float(r["perplexity"])
    return None
rows = []
for f in sorted(ll):
    stem = f[:-5]
    variant, typ = stem[len(model) + 1:].rsplit("-", 1)
    weights = "memory" if typ == "f32" else "gguf"
    mine = p(variant, typ, weights, "llama-perplexity")
    theirs = float(ll[f]["perplexity"]) if ll[f]["perplexity"] else None
    diff = f"{100 * (mine - theirs) / theirs:+.3f}%" if mine and theirs else "-"
    rows.append(f"| {variant} | {typ} | {theirs if theirs else 'failed'} ± {ll[f]['plusminus']} | {mine:.4f} | {diff} | "
                f"{p(variant, typ, weights, 'prunelab'):.4f} | {p(variant, 'f32', 'memory', 'prunelab'):.4f} |")
with open(os.path.join(out, "compare.md"), "w") as o:
    o.write(f"{model}: llama-perplexity vs prunelab on the same GGUF exports, Brown evaluation text, n_ctx {nctx}, "
            f"first {chunks} chunks\n\n")
    o.write("| variant | GGUF type | llama.cpp (llama-perplexity) | prunelab, llama-perplexity protocol | difference | "
            "prunelab protocol, same weights | prunelab protocol, F32 in memory |\n|---|---|---|---|---|---|---|\n")
    o.write("\n".join(rows) + "\n")
print(open(os.path.join(out, "compare.md")).read())
PY
