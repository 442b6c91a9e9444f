"""Executes a prunelab notebook headless with nbclient, papermill-style.

    .venv-jupyter/bin/python tools/jupyter/run_notebook.py IN.ipynb OUT.ipynb [--params JSON] [--timeout S]

The cell tagged "parameters" keeps its defaults; with --params, a cell tagged "injected-parameters" is
inserted after it that assigns the given values (Java syntax: numbers as-is, strings quoted, lists as
List.of(...), booleans). The kernel is the one named in the notebook's metadata ("prunelab"); Jupyter finds
it through JUPYTER_PATH or the user's data dir (./prunelab kernel install). Writes OUT even when a cell
fails (the error is in its outputs) and exits 1 then.
"""
import argparse
import json
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def java_literal(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid Java string literal for plain text
    if isinstance(value, list):
        return "List.of(" + ", ".join(java_literal(v) for v in value) + ")"
    raise ValueError(f"cannot write {value!r} as a Java literal")


def inject(nb, params):
    index = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if index is None:
        raise SystemExit("run_notebook.py: the notebook has no cell tagged 'parameters'")
    nb.cells = [c for c in nb.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    source = "// Parameters injected by tools/jupyter/run_notebook.py\n" + "\n".join(
        f"{name} = {java_literal(value)};" for name, value in params.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(index + 1, cell)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--params", default="{}")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = ap.parse_args()
    nb = nbformat.read(args.input, as_version=4)
    params = json.loads(args.params)
    if params:
        inject(nb, params)
    client = NotebookClient(nb, timeout=args.timeout, kernel_name=nb.metadata.get("kernelspec", {}).get("name", "prunelab"),
                            allow_errors=False, record_timing=False)
    failed = None
    try:
        client.execute()
    except CellExecutionError as e:
        failed = e
    nbformat.write(nb, args.output)
    if failed is not None:
        print(f"run_notebook.py: {args.input}: a cell failed:\n{failed}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
