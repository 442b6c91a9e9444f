"""Runs the torch reference (prune_model.py) on the exact windows of a prunelab `prune` run and compares.

Issue 3's acceptance: for the 50% and 2:4 rows, the reference on the same configuration must agree
with prunelab's perplexity within 2% relative; the same holds for Wanda 50% and FASP 25% on Gemma 3.
Methods: magnitude, wanda, sparsegpt (unstructured, N:M, OWL) and fasp (uniform allocation, with or
without restoration, as the report's params say). The dense model is the report's "model" when that is
a registered name (smollm2-135m, gemma3-270m) or an existing path, else --model. Given a prunelab
output DIR holding

    prune_report.json      method, sparsity, pattern, owl, perplexity (keys searched at the top level
                           and one level down, e.g. under "config"/"eval"; override with flags below)
    calibration_ids.json   the calibration windows prunelab used: JSON list of lists of token ids
    eval_ids.json          the evaluation windows: same format

this script runs prune_model.py with --calib-ids/--eval-ids from DIR and the report's configuration,
prints both perplexities and the relative difference |ref - prunelab| / ref, and exits 1 when it
exceeds --tolerance. With --eval-exported it also evaluates the pruned model prunelab wrote to DIR
(config.json + safetensors) in torch on the same windows, separating a pruning difference from an
evaluation difference.

    tools/reference/.venv/bin/python tools/reference/compare_unstructured.py OUT_DIR [--threads 2] [--model gemma3-270m]
"""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


REGISTERED = {"smollm2-135m": "smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf",
              "gemma3-270m": "gemma3-270m/gemma-3-270m-q4_k_m.gguf"}  # as reflib.REGISTERED


def model_path(name: str) -> Path:
    """Same as reflib.model_path (a registered name at its setup location, else the path), without importing torch."""
    home = os.environ.get("PRUNELAB_HOME") or os.path.expanduser("~/.cache/prunelab")
    return Path(home) / "models" / REGISTERED[name] if name in REGISTERED else Path(name)


def default_gguf() -> Path:
    return model_path("smollm2-135m")


def find(report: dict, *names):
    """First value under one of `names`, at the top level or one dict level down."""
    for scope in [report, *[v for v in report.values() if isinstance(v, dict)]]:
        for n in names:
            if n in scope and not isinstance(scope[n], dict):
                return scope[n]
    return None


def run_json(cmd: list[str]) -> dict:
    print("+ " + " ".join(cmd), file=sys.stderr)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"reference run failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path, help="prunelab prune --out DIR")
    ap.add_argument("--model", "--gguf", dest="model", type=model_path,
                    help="dense model for the reference: GGUF, folder or registered name (default: the report's "
                         "model if registered or a path, else prune_model.py's default SmolLM2)")
    ap.add_argument("--method", help="override the report's method")
    ap.add_argument("--sparsity", type=float, help="override the report's sparsity")
    ap.add_argument("--pattern", help="override the report's pattern")
    ap.add_argument("--owl", action="store_true", default=None, help="override: use OWL")
    ap.add_argument("--prunelab-ppl", type=float, help="prunelab's perplexity, if the report has none")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--tolerance", type=float, default=0.02, help="relative difference allowed (default 2%%)")
    ap.add_argument("--eval-exported", action="store_true", help="also evaluate DIR's exported model in torch")
    ap.add_argument("--dense", action="store_true", help="also evaluate the dense model in torch on the same windows")
    args = ap.parse_args()

    report_path, calib, evals = (args.dir / n for n in ("prune_report.json", "calibration_ids.json", "eval_ids.json"))
    for p in (report_path, evals):
        if not p.is_file():
            sys.exit(f"missing {p}: run prunelab prune with --eval ... --out {args.dir} (it writes the report and the window ids)")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    method = args.method or find(report, "method")
    # Magnitude pruning reads no calibration data, so prunelab writes no calibration_ids.json for it.
    if str(method).lower() != "magnitude" and not calib.is_file():
        sys.exit(f"missing {calib}: run prunelab prune with --out {args.dir} (it writes the calibration window ids)")
    pattern = str(args.pattern or find(report, "pattern") or "unstructured")
    if str(method).lower() == "fasp":
        pattern = "unstructured"  # the report says "structured"; prune_model.py's --pattern is for the unstructured methods
    sparsity = args.sparsity if args.sparsity is not None else find(report, "sparsity", "target_sparsity")
    owl = args.owl if args.owl is not None else bool(find(report, "owl"))
    ppl = args.prunelab_ppl or find(report, "perplexity", "ppl")
    restore = find(report, "restore")
    if args.model is None and isinstance(report.get("model"), str) and (
            report["model"] in REGISTERED or Path(report["model"]).exists()):
        args.model = model_path(report["model"])
    if method is None or (sparsity is None and pattern == "unstructured"):
        sys.exit(f"{report_path} names no method/sparsity; pass --method and --sparsity")

    cmd = [sys.executable, str(HERE / "prune_model.py"), "--method", str(method).lower(), "--pattern", pattern,
           "--eval-ids", str(evals), "--threads", str(args.threads), "--batch", str(args.batch)]
    if calib.is_file():
        cmd += ["--calib-ids", str(calib)]
    if pattern == "unstructured":
        cmd += ["--sparsity", str(sparsity)]
    if owl:
        cmd.append("--owl")
    if str(method).lower() == "fasp" and restore is False:
        cmd.append("--no-restore")
    if args.model:
        cmd += ["--model", str(args.model)]
    ref = run_json(cmd)

    out = {"dir": str(args.dir), "method": ref["method"], "sparsity": ref["sparsity"], "pattern": pattern, "owl": owl,
           "nsamples": ref.get("nsamples"), "seqlen": ref["seqlen"], "eval_windows": ref["eval_windows"],
           "reference_perplexity": ref["perplexity"], "prunelab_perplexity": ppl,
           "prunelab_perplexity_dense": find(report, "perplexity_dense"), "model": str(args.model or default_gguf()),
           "reference_actual_sparsity": ref["actual_sparsity"]["overall"],
           "reference_linear_parameters_after": ref["actual_sparsity"].get("linear_parameters_after"),
           "prunelab_params_blocks": find(report, "params_blocks"),
           "reference_propagation_check_max_abs": ref.get("propagation_check_max_abs"),
           "reference_prune_seconds": ref["prune_seconds"], "versions": ref["versions"]}
    if args.eval_exported:
        if not (args.dir / "config.json").is_file():
            sys.exit(f"--eval-exported: no config.json in {args.dir}")
        exported = run_json([sys.executable, str(HERE / "prune_model.py"), "--model", str(args.dir),
                             "--tokenizer", str(args.dir if (args.dir / "tokenizer.json").is_file() else
                                                args.model or default_gguf()),
                             "--method", "magnitude", "--sparsity", "0", "--eval-ids", str(evals),
                             "--threads", str(args.threads)])
        out["prunelab_model_torch_perplexity"] = exported["perplexity"]
        out["prunelab_model_actual_sparsity"] = exported["actual_sparsity"]["overall"]
    if args.dense:
        dense = run_json([sys.executable, str(HERE / "prune_model.py"), "--model", str(args.model or default_gguf()),
                          "--method", "magnitude", "--sparsity", "0", "--eval-ids", str(evals),
                          "--threads", str(args.threads)])
        out["reference_perplexity_dense"] = dense["perplexity"]
    if ppl is None:
        print(json.dumps(out))
        sys.exit("prune_report.json has no perplexity; pass --prunelab-ppl (reference perplexity printed above)")
    rel = abs(ref["perplexity"] - float(ppl)) / ref["perplexity"]
    out.update({"relative_difference": rel, "tolerance": args.tolerance, "agree": rel <= args.tolerance})
    print(f"prunelab {float(ppl):.4f}  reference {ref['perplexity']:.4f}  relative difference {rel:.4%} "
          f"({'within' if rel <= args.tolerance else 'OUTSIDE'} {args.tolerance:.0%})", file=sys.stderr)
    print(json.dumps(out))
    sys.exit(0 if rel <= args.tolerance else 1)


if __name__ == "__main__":
    main()
