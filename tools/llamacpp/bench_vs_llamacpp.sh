#!/usr/bin/env bash
# Paired speed comparison prunelab vs llama.cpp on one GGUF (and llama-perplexity's PPL with --ppl).
# A thin wrapper: the work is in bench_vs_llamacpp.py (Python 3 standard library only). --help for options.
#
#   tools/llamacpp/bench_vs_llamacpp.sh --model FILE.gguf --threads 2 [--rounds 5] [--out PATH]
#   tools/llamacpp/bench_vs_llamacpp.sh --ppl --model FILE.gguf --text FILE.txt --threads 2 [--normalize] [--with-prunelab]
set -euo pipefail
exec python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/bench_vs_llamacpp.py" "$@"
