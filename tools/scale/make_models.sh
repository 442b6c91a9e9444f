#!/usr/bin/env bash
# Writes the synthetic models of the scale study (random weights in real shapes; memory and time only) into DIR:
#   llama-1b.q8_0.gguf (1.3 GB), llama2-7b.q4_0.gguf (3.9 GB), qwen2-7b.q4_0.gguf (4.6 GB), and the same shapes with
#   fewer blocks (-4l, -2l, -1l: every block of a shape is the same size, so the peak is the full model's and a run takes
#   a fraction of the time).
#   tools/scale/make_models.sh DIR
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRUNELAB="${PRUNELAB:-$ROOT/prunelab}"
DIR="${1:?usage: make_models.sh DIR}"
mkdir -p "$DIR"
make() { [ -f "$DIR/$1.$2.gguf" ] || "$PRUNELAB" synth --shape "$1" --type "$2" --out "$DIR/$1.$2.gguf"; }
make llama-1b q8_0
make llama2-7b q4_0
make qwen2-7b q4_0
few() { [ -f "$DIR/$1-$3l.$2.gguf" ] || "$PRUNELAB" synth --shape "$1" --type "$2" --layers "$3" --out "$DIR/$1-$3l.$2.gguf"; }
few llama-1b q8_0 2
few llama2-7b q4_0 4
few llama2-7b q4_0 2
few llama2-7b q4_0 1
few qwen2-7b q4_0 4
few qwen2-7b q4_0 1
# The runtime baseline point: 0.04B parameters (hidden 512, 4 blocks).
[ -f "$DIR/tiny.q8_0.gguf" ] || "$PRUNELAB" synth --shape llama2-7b --hidden-size 512 --layers 4 --intermediate-size 1024 --heads 8 --kv-heads 8 --out "$DIR/tiny.q8_0.gguf"
