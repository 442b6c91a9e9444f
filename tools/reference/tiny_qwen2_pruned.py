"""transformers' logits of a structurally pruned tiny Qwen2 that prunelab exported, as a fixture for
org.prunelab.arch.Qwen2ReferenceTest (FASP at 50% and 75%, uniform allocation, on fixtures/tiny-qwen2/hf).

Loads DIR with AutoModelForCausalLM (fp32, eager attention, CPU) and checks that it is a Qwen2ForCausalLM
that took every tensor from the file (no missing, unexpected or mismatched keys: a q/k/v bias left out
would otherwise be freshly initialised), that q/k/v carry biases as long as their rows and o_proj and
the MLP none. Then runs the token sequences of fixtures/tiny-qwen2/tokens.json and writes, under --out:
  logits.bin   float32 little-endian, [sequences, 12, vocab], in tokens.json order
  model.json   the config transformers read, the bias shapes, versions, and the command

The export comes from the Java test itself (it writes a second copy of its pruned model when the
system property prunelab.qwen2.exportTo names a folder; it writes fasp-50 and fasp-75 into it):

    mkdir /tmp/qwen2-exports
    mvn -B -q -o -pl core test -Dtest=Qwen2ReferenceTest -Dprunelab.qwen2.exportTo=/tmp/qwen2-exports
    for s in 50 75; do
      tools/reference/.venv/bin/python tools/reference/tiny_qwen2_pruned.py /tmp/qwen2-exports/fasp-$s \
          --out core/src/test/resources/fixtures/tiny-qwen2/pruned-fasp-$s
    done

(The Java test fails on the missing logits until they exist; the exports are written before that check.)
"""
import argparse
import json
import os
import pathlib
import sys

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import torch
import transformers
from transformers import AutoModelForCausalLM

FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "core/src/test/resources/fixtures/tiny-qwen2"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=pathlib.Path, help="the pruned model folder prunelab wrote")
    ap.add_argument("--out", type=pathlib.Path, required=True, help="fixture folder to write")
    args = ap.parse_args()
    torch.set_num_threads(1)

    model, info = AutoModelForCausalLM.from_pretrained(args.dir, dtype=torch.float32, attn_implementation="eager",
                                                       output_loading_info=True)
    model.eval()
    problems = {k: v for k, v in info.items() if v}
    if problems:
        sys.exit(f"transformers did not load {args.dir} cleanly: {problems}")
    if type(model).__name__ != "Qwen2ForCausalLM":
        sys.exit(f"{args.dir} loaded as {type(model).__name__}, not Qwen2ForCausalLM")

    biases = {}
    for l, layer in enumerate(model.model.layers):
        att = layer.self_attn
        for name in ("q_proj", "k_proj", "v_proj"):
            lin = getattr(att, name)
            assert lin.bias is not None and lin.bias.shape[0] == lin.weight.shape[0], (l, name)
            biases[f"{l}.{name}"] = [lin.weight.shape[0], lin.bias.shape[0]]
        assert att.o_proj.bias is None, l
        for name in ("gate_proj", "up_proj", "down_proj"):
            assert getattr(layer.mlp, name).bias is None, (l, name)

    seqs = json.loads((FIXTURE / "tokens.json").read_text())
    with torch.no_grad():
        logits = torch.stack([model(torch.tensor([s]), use_cache=False).logits[0] for s in seqs])
    args.out.mkdir(parents=True, exist_ok=True)
    logits.numpy().astype("<f4").tofile(args.out / "logits.bin")
    c = model.config
    meta = {
        "source": f"prunelab export {args.dir.name} of fixtures/tiny-qwen2/hf written by Qwen2ReferenceTest"
                  " (fasp-NN: FASP at NN% sparsity, uniform allocation), loaded by transformers",
        "class": type(model).__name__,
        "config": {k: getattr(c, k) for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                              "num_attention_heads", "num_key_value_heads", "head_dim")},
        "qkv_rows_and_bias_lengths": biases,
        "logits_shape": list(logits.shape),
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
        "command": "tools/reference/.venv/bin/python tools/reference/tiny_qwen2_pruned.py " + str(args.dir)
                   + " --out " + str(args.out),
    }
    (args.out / "model.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
