#!/usr/bin/env bash
# Creates the project's Jupyter front-end environment: a Python venv at <repo>/.venv-jupyter with pinned
# jupyter_client, nbclient and nbformat from PyPI. The kernel tests run notebooks headless through it
# (nbclient talks to the prunelab kernel over ZeroMQ); no IPython kernel is needed, the kernel is Java.
#
#   tools/jupyter/setup.sh          create or repair the venv; returns at once when it is already right
#   tools/jupyter/setup.sh --lab    also install JupyterLab into the same venv, to open notebooks/ by hand
#
# Environment: PRUNELAB_PYTHON  the Python 3.10+ to build the venv from (default: python3)
#              JUPYTER_VENV     where to put the venv (default: <repo>/.venv-jupyter)
set -euo pipefail

PINS=("jupyter_client==8.10.0" "nbclient==0.11.0" "nbformat==5.10.4")
LAB_PIN="jupyterlab==4.6.6"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${JUPYTER_VENV:-$ROOT/.venv-jupyter}"
PY="${PRUNELAB_PYTHON:-python3}"
KEY="$(printf '%s ' "${PINS[@]}" | sha256sum | cut -c1-12)"
STAMP="$VENV/.prunelab-jupyter-$KEY"
LAB=false
[ "${1:-}" = "--lab" ] && LAB=true

# Fast path: the stamp is written only after a verified install of exactly these pins.
if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ] && { ! $LAB || [ -x "$VENV/bin/jupyter-lab" ]; }; then
  exit 0
fi

command -v "$PY" >/dev/null 2>&1 || {
  echo "tools/jupyter/setup.sh: '$PY' not found; install Python 3.10+ or set PRUNELAB_PYTHON to one" >&2
  exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "tools/jupyter/setup.sh: creating $VENV ..." >&2
  "$PY" -m venv "$VENV"
fi

pkgs=("${PINS[@]}")
$LAB && pkgs+=("$LAB_PIN")
echo "tools/jupyter/setup.sh: installing ${pkgs[*]} ..." >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q "${pkgs[@]}"

"$VENV/bin/python" -c 'import jupyter_client, nbclient, nbformat' || {
  echo "tools/jupyter/setup.sh: jupyter_client/nbclient/nbformat do not import from $VENV" >&2
  exit 1
}
rm -f "$VENV"/.prunelab-jupyter-*
touch "$STAMP"
echo "tools/jupyter/setup.sh: Jupyter client ready in $VENV" >&2
