"""transformers' logits of a structurally pruned tiny Qwen2 that prunelab exported, as a fixture for
org.prunelab.arch.Qwen2ReferenceTest (FASP at 50% and 75%, uniform allocation, on fixtures/tiny-qwen2/hf); with --family qwen3, the same for a tiny
Qwen3 export (org.prunelab.arch.Qwen3ReferenceTest, fixtures/tiny-qwen3/hf); with --family gemma3, a tiny Gemma 3
export (org.prunelab.arch.Gemma3TinyReferenceTest, fixtures/tiny-gemma3/hf: FASP 50%, 75% and ShortGPT removing one
block); with --family llama, a tiny Llama export (org.prunelab.arch.LlamaTinyReferenceTest, fixtures/tiny-llama-hf/hf:
FASP 50%, 75% and FLAP 50% with its compensation biases).

Loads DIR with AutoModelForCausalLM (fp32, eager attention, CPU) and checks that it is a Qwen2ForCausalLM
that took every tensor from the file (no missing, unexpected or mismatched keys: a q/k/v bias left out
would otherwise be freshly initialised), that q/k/v carry biases as long as their rows and o_proj and
the MLP none (qwen3: that no linear has a bias, as attention_bias is false, and that every layer has q_norm and
k_norm gains over head_dim; gemma3: no biases, q/k norms, one layer type per layer, each layer's attention of its
type with the window on the sliding ones only, the LM head tied to the embeddings; llama: q/k/v/o carry biases exactly
when attention_bias is on, gate/up/down when mlp_bias is, each as long as its rows). Then runs the token sequences
of fixtures/tiny-<family>/tokens.json (llama: fixtures/tiny-llama-hf/) and writes, under --out:
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
For Qwen3 the same with Qwen3ReferenceTest, -Dprunelab.qwen3.exportTo=/tmp/qwen3-exports, --family qwen3 and
--out core/src/test/resources/fixtures/tiny-qwen3/pruned-fasp-$s. For Gemma 3: Gemma3TinyReferenceTest,
-Dprunelab.gemma3.exportTo=/tmp/gemma3-exports, the exports fasp-50, fasp-75 and shortgpt-1, --family gemma3 and
--out core/src/test/resources/fixtures/tiny-gemma3/pruned-NAME; for Llama: LlamaTinyReferenceTest,
-Dprunelab.llama.exportTo=/tmp/llama-exports, fasp-50, fasp-75 and flap-50, --family llama and
--out core/src/test/resources/fixtures/tiny-llama-hf/pruned-NAME.
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

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "core/src/test/resources/fixtures"
CLASSES = {"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "gemma3": "Gemma3ForCausalLM",
           "llama": "LlamaForCausalLM"}
TEST_CLASSES = {"qwen2": "Qwen2ReferenceTest", "qwen3": "Qwen3ReferenceTest", "gemma3": "Gemma3TinyReferenceTest",
                "llama": "LlamaTinyReferenceTest"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=pathlib.Path, help="the pruned model folder prunelab wrote")
    ap.add_argument("--out", type=pathlib.Path, required=True, help="fixture folder to write")
    ap.add_argument("--family", choices=tuple(CLASSES), default="qwen2")
    args = ap.parse_args()
    cls = CLASSES[args.family]
    torch.set_num_threads(1)

    model, info = AutoModelForCausalLM.from_pretrained(args.dir, dtype=torch.float32, attn_implementation="eager",
                                                       output_loading_info=True)
    model.eval()
    problems = {k: v for k, v in info.items() if v}
    if problems:
        sys.exit(f"transformers did not load {args.dir} cleanly: {problems}")
    if type(model).__name__ != cls:
        sys.exit(f"{args.dir} loaded as {type(model).__name__}, not {cls}")

    biases = {}
    c = model.config
    if args.family == "gemma3":
        # The checkpoint's layer types are one per layer, and each layer's attention follows its own entry.
        assert len(c.layer_types) == c.num_hidden_layers == len(model.model.layers), c.layer_types
        for l, layer in enumerate(model.model.layers):
            assert layer.self_attn.layer_type == c.layer_types[l], (l, layer.self_attn.layer_type)
            assert layer.self_attn.sliding_window == (c.sliding_window if c.layer_types[l] == "sliding_attention"
                                                       else None), (l, layer.self_attn.sliding_window)
        assert c.tie_word_embeddings and model.lm_head.weight is model.model.embed_tokens.weight
    for l, layer in enumerate(model.model.layers):
        att = layer.self_attn
        if args.family == "llama":
            # attention_bias switches biases on for q/k/v/o, mlp_bias for gate/up/down (a FLAP export has both:
            # its compensation biases on o_proj and down_proj, zeros on the others); each as long as its rows.
            for mod, names, flag in ((att, ("q_proj", "k_proj", "v_proj", "o_proj"), c.attention_bias),
                                     (layer.mlp, ("gate_proj", "up_proj", "down_proj"), c.mlp_bias)):
                for name in names:
                    lin = getattr(mod, name)
                    if flag:
                        assert lin.bias is not None and lin.bias.shape[0] == lin.weight.shape[0], (l, name)
                        biases[f"{l}.{name}"] = [lin.weight.shape[0], lin.bias.shape[0]]
                    else:
                        assert lin.bias is None, (l, name)
            continue
        if args.family in ("qwen3", "gemma3"):
            for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
                assert getattr(att, name).bias is None, (l, name)
            for name in ("q_norm", "k_norm"):
                assert getattr(att, name).weight.shape == (model.config.head_dim,), (l, name)
            for name in ("gate_proj", "up_proj", "down_proj"):
                assert getattr(layer.mlp, name).bias is None, (l, name)
            continue
        for name in ("q_proj", "k_proj", "v_proj"):
            lin = getattr(att, name)
            assert lin.bias is not None and lin.bias.shape[0] == lin.weight.shape[0], (l, name)
            biases[f"{l}.{name}"] = [lin.weight.shape[0], lin.bias.shape[0]]
        assert att.o_proj.bias is None, l
        for name in ("gate_proj", "up_proj", "down_proj"):
            assert getattr(layer.mlp, name).bias is None, (l, name)

    fixture = "tiny-llama-hf" if args.family == "llama" else f"tiny-{args.family}"
    seqs = json.loads((FIXTURES / fixture / "tokens.json").read_text())
    with torch.no_grad():
        logits = torch.stack([model(torch.tensor([s]), use_cache=False).logits[0] for s in seqs])
    args.out.mkdir(parents=True, exist_ok=True)
    logits.numpy().astype("<f4").tofile(args.out / "logits.bin")
    keys = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "head_dim"]
    if args.family == "gemma3":
        keys += ["query_pre_attn_scalar", "sliding_window", "layer_types", "rope_parameters"]
    meta = {
        "source": f"prunelab export {args.dir.name} of fixtures/{fixture}/hf written by"
                  f" {TEST_CLASSES[args.family]}"
                  " (fasp-NN: FASP at NN% sparsity, uniform allocation"
                  + ("; shortgpt-1: ShortGPT removing one block" if args.family == "gemma3" else "")
                  + ("; flap-50: FLAP at 50%, uniform, with its compensation biases" if args.family == "llama" else "")
                  + "), loaded by transformers",
        "class": type(model).__name__,
        "config": {k: getattr(c, k) for k in keys},
        **({"qkv_rows_and_bias_lengths": biases} if args.family == "qwen2" else {}),
        **({"attention_bias": c.attention_bias, "mlp_bias": c.mlp_bias, "rows_and_bias_lengths": biases}
           if args.family == "llama" else {}),
        "logits_shape": list(logits.shape),
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__},
        "command": "tools/reference/.venv/bin/python tools/reference/tiny_qwen2_pruned.py " + str(args.dir)
                   + " --out " + str(args.out) + ("" if args.family == "qwen2" else " --family " + args.family),
    }
    (args.out / "model.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
