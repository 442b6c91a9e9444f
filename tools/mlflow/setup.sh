#!/usr/bin/env bash
# Creates the project's MLflow environment: a Python venv at <repo>/.venv-mlflow with a pinned
# `mlflow` from PyPI. The tracking server (`mlflow server`) and the Java client's artifact uploads
# (`python -m mlflow.store.artifact.cli`) both run from it.
#
#   tools/mlflow/setup.sh          create or repair the venv; returns at once when it is already right
#
# The pin is 3.17.2, not 3.18: mlflow 3.18.0 needs mlflow-skinny 3.18.0, which the registry does not serve.
#
# Environment: PRUNELAB_PYTHON  the Python 3.10+ to build the venv from (default: python3)
#              MLFLOW_VENV      where to put the venv (default: <repo>/.venv-mlflow)
set -euo pipefail

MLFLOW_VERSION="3.17.2"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MLFLOW_VENV:-$ROOT/.venv-mlflow}"
PY="${PRUNELAB_PYTHON:-python3}"
STAMP="$VENV/.prunelab-mlflow-$MLFLOW_VERSION"

# Fast path: the stamp is written only after a verified install of exactly this version.
if [ -f "$STAMP" ] && [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/mlflow" ]; then
  exit 0
fi

command -v "$PY" >/dev/null 2>&1 || {
  echo "tools/mlflow/setup.sh: '$PY' not found; install Python 3.10+ or set PRUNELAB_PYTHON to one" >&2
  exit 1
}

if [ ! -x "$VENV/bin/python" ]; then
  echo "tools/mlflow/setup.sh: creating $VENV ..." >&2
  "$PY" -m venv "$VENV"
fi

echo "tools/mlflow/setup.sh: installing mlflow==$MLFLOW_VERSION (takes a few minutes the first time) ..." >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q "mlflow==$MLFLOW_VERSION"

installed="$("$VENV/bin/python" -c 'import mlflow; print(mlflow.__version__)')"
if [ "$installed" != "$MLFLOW_VERSION" ]; then
  echo "tools/mlflow/setup.sh: expected mlflow $MLFLOW_VERSION in $VENV, found $installed" >&2
  exit 1
fi
rm -f "$VENV"/.prunelab-mlflow-*
touch "$STAMP"
echo "tools/mlflow/setup.sh: mlflow $MLFLOW_VERSION ready in $VENV" >&2
