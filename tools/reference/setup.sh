#!/usr/bin/env bash
# Creates tools/reference/.venv (gitignored) with the pinned reference stack from requirements.txt.
# Idempotent: when the venv already holds every pinned version, it does nothing.
# Size warning: PyPI's torch wheel is the CUDA build; with its nvidia-* wheels the venv takes ~5.6 GB
# and the download is ~3 GB. The scripts themselves only ever run on CPU.
# Usage: tools/reference/setup.sh [--dry-run]     (PYTHON=python3.11 to pick the interpreter)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
python="${PYTHON:-python3}"
dry_run=false
[[ "${1:-}" == "--dry-run" ]] && dry_run=true

run() {  # print every action, execute it unless --dry-run
  echo "+ $*"
  $dry_run || "$@"
}

# Every "name==version" pin from requirements.txt must appear in pip freeze (case-insensitive names).
missing_pins() {
  local frozen
  frozen="$("$venv/bin/python" -m pip freeze 2>/dev/null | tr '[:upper:]' '[:lower:]' | tr '_' '-')"
  grep -E '^[A-Za-z0-9_.-]+==' "$req" | tr '[:upper:]' '[:lower:]' | tr '_' '-' | while read -r pin; do
    grep -qxF "$pin" <<<"$frozen" || echo "$pin"
  done
}

if [[ -x "$venv/bin/python" ]]; then
  missing="$(missing_pins)"
  if [[ -z "$missing" ]]; then
    echo "reference venv at $venv already has every pin of $req; nothing to do"
    exit 0
  fi
  echo "reference venv at $venv lacks: $(echo $missing)"
else
  echo "creating reference venv at $venv with $("$python" --version 2>&1)"
  run "$python" -m venv "$venv"
fi
run "$venv/bin/python" -m pip install --upgrade pip
run "$venv/bin/python" -m pip install -r "$req"
$dry_run || "$venv/bin/python" -c 'from importlib.metadata import version as v; print("ok:", *(f"{p}=={v(p)}" for p in ("torch", "transformers", "gguf")))'
