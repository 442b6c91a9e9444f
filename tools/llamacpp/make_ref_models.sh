#!/usr/bin/env bash
# Reference GGUFs of SmolLM2-135M made with llama.cpp's llama-quantize from the cached Q4_1 GGUF:
# F32, Q8_0 and Q4_0, into $PRUNELAB_HOME/llama.cpp/models/.
#
#   tools/llamacpp/make_ref_models.sh [--source FILE.gguf] [--types "F32 Q8_0 Q4_0"] [--force]
#
# The source is Q4_1 (w = d*q + m per block of 32), so "F32" is the dequantised Q4_1 weights: exactly the numbers
# prunelab computes with after it dequantises the same file on load. Q8_0 and Q4_0 are requantisations of those
# (--allow-requantize), not quantisations of the original bf16 model. llama-quantize's default tensor-type rules
# apply (no --pure): the tied token embedding (also the output matrix) may get another type than the rest; the
# types each file ended up with are printed and written to models/TYPES.txt. PURE=1 adds --pure.
# Idempotent: a file is remade only when missing, or when the source's SHA-256 or the llama.cpp pin changed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOME_DIR="${PRUNELAB_HOME:-$HOME/.cache/prunelab}"
SOURCE="$HOME_DIR/models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf"
TYPES="F32 Q8_0 Q4_0"
FORCE=0
THREADS="${THREADS:-2}"
while [ $# -gt 0 ]; do
  case "$1" in
    --source) SOURCE="$2"; shift 2 ;;
    --types) TYPES="$2"; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "make_ref_models: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { echo "make_ref_models: $*" >&2; }
[ -f "$SOURCE" ] || { say "no source GGUF at $SOURCE (run ./prunelab setup, or pass --source)"; exit 1; }
BIN="$("$HERE/build.sh" --print)" || { say "llama.cpp tools not built; run tools/llamacpp/build.sh first"; exit 1; }
OUT="$HOME_DIR/llama.cpp/models"
mkdir -p "$OUT"

src_sha="$(sha256sum "$SOURCE" | cut -d' ' -f1)"
# The quantizer's pin: the llama.cpp tree build.sh builds (its sdist SHA-256 and commit).
pin="$(sed -n 's/^SDIST_SHA256=//p; s/^LLAMA_CPP_COMMIT=\([0-9a-f]*\).*/@\1/p' "$HERE/build.sh" | tr -d '\n')"
stem="$(basename "$SOURCE" .gguf)"; stem="${stem%.Q4_1}"     # SmolLM2-135M-Instruct
pure=(); [ "${PURE:-0}" = 1 ] && pure=(--pure)

for t in $TYPES; do
  dst="$OUT/$stem.$t.gguf"
  stamp="$dst.source"
  want="source=$(basename "$SOURCE") sha256=$src_sha quantize=$t ${pure[*]:-} llama.cpp=$pin"
  if [ "$FORCE" = 0 ] && [ -f "$dst" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    say "$t: up to date ($dst)"
    continue
  fi
  say "$t: llama-quantize --allow-requantize ${pure[*]:-} $(basename "$SOURCE") -> $(basename "$dst") ..."
  rm -f "$dst" "$stamp"
  "$BIN/llama-quantize" --allow-requantize "${pure[@]}" "$SOURCE" "$dst.tmp" "$t" "$THREADS" >"$dst.log" 2>&1 \
    || { tail -n 20 "$dst.log" >&2; rm -f "$dst.tmp"; say "$t: llama-quantize failed (log $dst.log)"; exit 1; }
  mv "$dst.tmp" "$dst"
  echo "$want" > "$stamp"
done

# What each file holds: tensor type counts from llama-quantize's own log ("converting to TYPE" / "size = ...").
{
  echo "# tensor types per file (from llama-quantize's log), source $(basename "$SOURCE") sha256=$src_sha"
  for t in $TYPES; do
    dst="$OUT/$stem.$t.gguf"
    printf '%s  %s bytes  sha256=%s\n' "$(basename "$dst")" "$(stat -c %s "$dst")" "$(sha256sum "$dst" | cut -d' ' -f1)"
    if [ -f "$dst.log" ]; then
      # Lines look like: "[  12/ 272]   blk.0.attn_q.weight - [  576,   576,     1,     1], type =   q4_1, converting to q8_0 .. size = ..."
      grep -oE 'type = +[a-z0-9_]+, (converting to [a-z0-9_]+|size)' "$dst.log" \
        | sed -E 's/type = +([a-z0-9_]+), converting to ([a-z0-9_]+)/\1 -> \2/; s/type = +([a-z0-9_]+), size/\1 (kept)/' \
        | sort | uniq -c | sed 's/^/    /'
    fi
  done
} > "$OUT/TYPES.txt"
cat "$OUT/TYPES.txt" >&2
for t in $TYPES; do echo "$OUT/$stem.$t.gguf"; done
