"""A tiny random Qwen2ForCausalLM (or, with --family qwen3, Qwen3ForCausalLM; --family gemma3, Gemma3ForCausalLM;
--family llama, LlamaForCausalLM) saved by transformers (qwen2 and qwen3 also as a GGUF), with transformers' logits,
for prunelab's reference tests (org.prunelab.arch.Qwen2ReferenceTest, Qwen3ReferenceTest, Gemma3TinyReferenceTest,
LlamaTinyReferenceTest).

Writes under core/src/test/resources/fixtures/tiny-qwen2/ (qwen3: tiny-qwen3/, tiny-qwen3.f32.gguf, ...):
  hf/config.json, hf/model.safetensors    Qwen2ForCausalLM.save_pretrained (fp32 safetensors)
  hf/tokenizer.json                      a minimal byte-level BPE tokenizer (prunelab's loader wants one)
  tiny-qwen2.f32.gguf                    the same model as llama.cpp's convert_hf_to_gguf.py lays out a qwen2
                                         model (general.architecture qwen2, blk.N.attn_q.{weight,bias}, ...,
                                         F32, unpermuted q/k: Qwen2 uses NEOX RoPE), with a gpt2-style vocabulary
  tokens.json                            3 token-id sequences of 12
  logits.bin                             Qwen2ForCausalLM(seq).logits for each sequence, float32 little-endian,
                                         [3, 12, vocab] in that order

The model: hidden 32, 2 layers, 4 query heads / 2 KV heads, head_dim 8, intermediate 64, vocab 260,
rope_theta 1e6, untied LM head. Every parameter is overwritten with seeded noise: weights and the q/k/v biases
N(0, 0.2), norm gains 1 + N(0, 0.1) (Qwen2 has no o_proj or MLP bias). Sizes are kept small so that the
fixture stays under 500 KB.

--family qwen3: the same sizes (head_dim 8 set explicitly: Qwen3Config's default is 128), attention_bias false
(no biases at all), and per-head q/k RMSNorm gains self_attn.q_norm / k_norm over head_dim, which get
1 + N(0, 0.1) like the other norms (so not all ones: the logits depend on them; the script prints how much).
The GGUF is laid out as llama.cpp's converter does for qwen3: general.architecture qwen3, the same metadata keys
plus attention.key_length / value_length (head_dim), blk.N.attn_q_norm.weight / attn_k_norm.weight, no biases,
unpermuted q/k (NEOX RoPE). transformers 5.24 reads no head_dim from a qwen3 GGUF (its key map lacks
attention.key_length), so the reload check passes head_dim=8 as a config override. The qwen2 output is unchanged
by the option (byte-identical files).

The script then reloads the GGUF with transformers (from_pretrained(dir, gguf_file=...)) and checks that it
gives the same logits as the saved folder, and prints the max abs differences.

--family gemma3 (fixtures/tiny-gemma3/: hf/, tokens.json, logits.bin; no GGUF): hidden 32, 4 layers of types
sliding, full, sliding, sliding (sliding_window 5, shorter than the 12-token sequences), 4 query / 2 KV heads of
head_dim 16 (not hidden / heads = 8), query_pre_attn_scalar 24 (neither 16 nor 8, so using either shows), intermediate
64, GELU-tanh, RoPE base 1e6 on the full layers and 1e4 on the sliding ones, tied embeddings (scaled by sqrt(32) in
the model). Weights N(0, 0.2); norm weights w = 0.3 N(0, 1) as transformers stores them (Gemma3RMSNorm multiplies
by 1 + w), except block 0's post-attention and post-feedforward norms, w = -0.9 + 0.03 N(0, 1): that block barely turns
the residual stream, so ShortGPT removes it and the remaining layer types shift. Loaded with eager attention. The
script prints how far the logits move with the gains taken as w instead of 1 + w, without the sliding window, with
one RoPE base for all layers, and with scores over sqrt(head_dim).

--family llama (fixtures/tiny-llama-hf/, as fixtures/tiny-llama/ holds tiny_llama_fixture.py's files; no GGUF):
hidden 32, 2 layers, 4 query / 2 KV heads, head_dim 8, intermediate 64, rope_theta 1e4, rms_norm_eps 1e-5, untied LM
head, no biases; weights N(0, 0.2), norm gains 1 + N(0, 0.1). Loaded with eager attention.

Commands (from the repository root; CPU, fp32, deterministic):
    tools/reference/.venv/bin/python tools/reference/tiny_qwen2_fixture.py
    tools/reference/.venv/bin/python tools/reference/tiny_qwen2_fixture.py --family qwen3
    tools/reference/.venv/bin/python tools/reference/tiny_qwen2_fixture.py --family gemma3
    tools/reference/.venv/bin/python tools/reference/tiny_qwen2_fixture.py --family llama
"""
import argparse
import json
import os
import pathlib

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import gguf
import numpy as np
import torch
from transformers import (AutoModelForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

torch.set_num_threads(1)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "core/src/test/resources/fixtures"
SEED = 2024
SEQS, SEQLEN = 3, 12


def byte_chars():
    """GPT-2's byte-level alphabet: printable Latin-1 bytes map to themselves, the other bytes to 256 + n."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table, extra = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


# Vocabulary: the 256 byte symbols, three merges, one control token: 260 entries.
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he")]
EOS = "<|endoftext|>"


def vocabulary():
    tokens = byte_chars() + [a + b for a, b in MERGES] + [EOS]
    types = [gguf.TokenType.NORMAL] * (len(tokens) - 1) + [gguf.TokenType.CONTROL]
    return tokens, types


def tokenizer_json(tokens):
    eos_id = tokens.index(EOS)
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": eos_id, "content": EOS, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": [[a, b] for a, b in MERGES]},
    }


# --family gemma3: layer types mixing sliding-window and global attention, and a window shorter than the sequences.
GEMMA3_LAYER_TYPES = ["sliding_attention", "full_attention", "sliding_attention", "sliding_attention"]
GEMMA3_WINDOW = 5
CLASSES = {"qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM", "gemma3": "Gemma3ForCausalLM",
           "llama": "LlamaForCausalLM"}
HAS_GGUF = ("qwen2", "qwen3")


def fixture_dir(family):
    """fixtures/tiny-<family>, but fixtures/tiny-llama-hf for llama (fixtures/tiny-llama holds tiny_llama_fixture.py's)."""
    return FIXTURES / ("tiny-llama-hf" if family == "llama" else f"tiny-{family}")


def build_gemma3(vocab_size, eos_id):
    """A tiny Gemma3ForCausalLM: head_dim 16 (not hidden / heads = 8), query_pre_attn_scalar 24 (neither of those),
    GQA 4 / 2 heads, tied embeddings; norm weights w stored as transformers keeps them (the gain is 1 + w)."""
    torch.manual_seed(SEED)
    config = Gemma3TextConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=len(GEMMA3_LAYER_TYPES),
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, hidden_activation="gelu_pytorch_tanh",
        max_position_embeddings=128, rms_norm_eps=1e-6, pad_token_id=eos_id, bos_token_id=eos_id,
        eos_token_id=eos_id, tie_word_embeddings=True,
        rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}},
        attention_bias=False, query_pre_attn_scalar=24, sliding_window=GEMMA3_WINDOW,
        layer_types=list(GEMMA3_LAYER_TYPES), final_logit_softcapping=None, attn_logit_softcapping=None)
    model = Gemma3ForCausalLM(config).to(torch.float32).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                # Gemma3RMSNorm multiplies by 1 + w: w = 0.3 N(0, 1), far from both 0 (gain 1) and 1 (gain 1 + 1).
                p.copy_(0.3 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
        # Block 0 barely turns the residual stream: its post-attention and post-feedforward gains 1 + w are near 0.1
        # (w = -0.9 + 0.03 N(0, 1)), so ShortGPT removes it, the first block, and the remaining layer types shift
        # (sliding, full, sliding, sliding -> full, sliding, sliding; a writer that cut layer_types short would keep
        # sliding, full, sliding).
        for norm in (model.model.layers[0].post_attention_layernorm, model.model.layers[0].post_feedforward_layernorm):
            norm.weight.copy_(-0.9 + 0.03 * torch.randn_like(norm.weight))
    return model


def build_llama(vocab_size, eos_id):
    """A tiny LlamaForCausalLM with GQA (4 / 2 heads), untied LM head, no biases."""
    torch.manual_seed(SEED)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=128,
                         rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                         tie_word_embeddings=False, attention_bias=False, mlp_bias=False, bos_token_id=eos_id,
                         eos_token_id=eos_id)
    model = LlamaForCausalLM(config).to(torch.float32).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    return model


def build_model(family, vocab_size, eos_id):
    if family == "gemma3":
        return build_gemma3(vocab_size, eos_id)
    if family == "llama":
        return build_llama(vocab_size, eos_id)
    torch.manual_seed(SEED)
    sizes = dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                 rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                 tie_word_embeddings=False, use_sliding_window=False, bos_token_id=eos_id,
                 eos_token_id=eos_id)
    if family == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**sizes))
    else:
        model = Qwen3ForCausalLM(Qwen3Config(**sizes, head_dim=8, attention_bias=False))
    model = model.to(torch.float32).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    return model


def write_gguf(family, model, path, tokens, types):
    cfg = model.config
    w = gguf.GGUFWriter(str(path), family)
    w.add_name(f"tiny-{family}")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    if family == "qwen3":  # llama.cpp's converter writes head_dim when the config has one (Qwen3's always does)
        w.add_key_length(cfg.head_dim)
        w.add_value_length(cfg.head_dim)
    w.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges([f"{a} {b}" for a, b in MERGES])
    w.add_bos_token_id(tokens.index(EOS))
    w.add_eos_token_id(tokens.index(EOS))

    hf_to_gguf = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
                  "lm_head.weight": "output.weight"}
    per_layer = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
                 "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
                 "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
                 "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
                 "self_attn.o_proj.weight": "attn_output.weight", "mlp.gate_proj.weight": "ffn_gate.weight",
                 "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight"}
    if family == "qwen3":
        per_layer = {k: v for k, v in per_layer.items() if not k.endswith(".bias")}
        per_layer["self_attn.q_norm.weight"] = "attn_q_norm.weight"
        per_layer["self_attn.k_norm.weight"] = "attn_k_norm.weight"
    for l in range(cfg.num_hidden_layers):
        for hf, g in per_layer.items():
            hf_to_gguf[f"model.layers.{l}.{hf}"] = f"blk.{l}.{g}"
    state = model.state_dict()
    assert set(state) == set(hf_to_gguf), set(state) ^ set(hf_to_gguf)
    # llama.cpp's converter order: embeddings, then each block, then the output norm and head.
    order = ["model.embed_tokens.weight"] + [k for k in hf_to_gguf if k.startswith("model.layers.")] \
        + ["model.norm.weight", "lm_head.weight"]
    for hf in order:
        # Qwen2 and Qwen3 are NEOX RoPE: llama.cpp stores q/k rows unpermuted, so every tensor goes in as it is.
        w.add_tensor(hf_to_gguf[hf], state[hf].detach().numpy().astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def logits_of(model, seqs):
    with torch.no_grad():
        return torch.stack([model(torch.tensor([s]), use_cache=False).logits[0] for s in seqs])


def load_kwargs(family):
    # Gemma 3 is loaded with eager attention (the sliding-window mask as transformers' reference implementation
    # applies it); the Qwen families keep the default, so their fixtures stay as they were.
    return {"attn_implementation": "eager"} if family in ("gemma3", "llama") else {}


def gemma3_sensitivity(model, seqs, ref):
    """How far the logits move under the mistakes the Gemma 3 fixture should catch."""
    moved = {}
    with torch.no_grad():
        norms = [(n, p.clone()) for n, p in model.named_parameters() if n.endswith("norm.weight")]
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.sub_(1.0)  # gain 1 + (w - 1) = w: the stored w read as the gain itself
        moved["norm gains w instead of 1 + w"] = (logits_of(model, seqs) - ref).abs().max().item()
        for n, p in model.named_parameters():
            if n.endswith("norm.weight"):
                p.copy_(dict(norms)[n])
        big = AutoModelForCausalLM.from_config(model.config.__class__(**{**model.config.to_dict(),
                                                                           "sliding_window": 128}),
                                               attn_implementation="eager").eval()
        big.load_state_dict(model.state_dict())
        moved["no sliding window (window 128)"] = (logits_of(big, seqs) - ref).abs().max().item()
        one = model.config.to_dict()
        one["rope_parameters"] = {k: {"rope_type": "default", "rope_theta": 1000000.0} for k in one["rope_parameters"]}
        same_base = AutoModelForCausalLM.from_config(model.config.__class__(**one), attn_implementation="eager").eval()
        same_base.load_state_dict(model.state_dict())
        moved["sliding layers with the global RoPE base"] = (logits_of(same_base, seqs) - ref).abs().max().item()
        d = model.config.to_dict()
        d["query_pre_attn_scalar"] = model.config.head_dim
        scalar = AutoModelForCausalLM.from_config(model.config.__class__(**d), attn_implementation="eager").eval()
        scalar.load_state_dict(model.state_dict())
        moved["scores over sqrt(head_dim) instead of sqrt(query_pre_attn_scalar)"] = \
            (logits_of(scalar, seqs) - ref).abs().max().item()
    for k, v in moved.items():
        print(f"{k}: logits move by max abs {v:.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", choices=tuple(CLASSES), default="qwen2")
    family = ap.parse_args().family
    out = fixture_dir(family)
    gguf_name = f"tiny-{family}.f32.gguf"
    tokens, types = vocabulary()
    model = build_model(family, len(tokens), tokens.index(EOS))
    hf_dir = out / "hf"
    hf_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(hf_dir)
    (hf_dir / "tokenizer.json").write_text(json.dumps(tokenizer_json(tokens), ensure_ascii=False, indent=1) + "\n")
    if family in HAS_GGUF:
        write_gguf(family, model, out / gguf_name, tokens, types)

    gen = torch.Generator().manual_seed(SEED + 1)
    seqs = torch.randint(0, len(tokens), (SEQS, SEQLEN), generator=gen).tolist()
    (out / "tokens.json").write_text(json.dumps(seqs) + "\n")

    # The fixture is the logits of the folder as transformers loads it back.
    saved, info = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, output_loading_info=True,
                                                       **load_kwargs(family))
    saved.eval()
    assert not any(info.values()), info
    assert type(saved).__name__ == CLASSES[family], type(saved)
    ref = logits_of(saved, seqs)
    ref.numpy().astype("<f4").tofile(out / "logits.bin")
    print(f"in-memory vs saved folder: max abs {(logits_of(model, seqs) - ref).abs().max().item():.3g}")

    if family == "gemma3":
        sdpa = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=torch.float32, attn_implementation="sdpa").eval()
        print(f"sdpa vs eager attention: max abs {(logits_of(sdpa, seqs) - ref).abs().max().item():.3g}")
        print(f"layer_types {saved.config.layer_types}, sliding_window {saved.config.sliding_window}, "
              f"{SEQLEN} tokens per sequence")
        gemma3_sensitivity(model, seqs, ref)

    if family == "qwen3":
        # The per-head q/k norms matter: the same model with all-ones q/k gains gives other logits.
        with torch.no_grad():
            for layer in model.model.layers:
                layer.self_attn.q_norm.weight.fill_(1.0)
                layer.self_attn.k_norm.weight.fill_(1.0)
        print(f"q/k norm gains set to ones instead: logits move by max abs "
              f"{(logits_of(model, seqs) - ref).abs().max().item():.3g}")

    if family in HAS_GGUF:
        # transformers 5.24's GGUF reader maps no attention.key_length for qwen3, so Qwen3Config's head_dim default
        # (128) would stand; it is passed as a config override (prunelab's loader reads the key from the file).
        overrides = {"head_dim": model.config.head_dim} if family == "qwen3" else {}
        from_gguf = AutoModelForCausalLM.from_pretrained(out, gguf_file=gguf_name, dtype=torch.float32,
                                                         **overrides).eval()
        assert type(from_gguf).__name__ == CLASSES[family], type(from_gguf)
        for name, p in from_gguf.state_dict().items():
            assert torch.equal(p, saved.state_dict()[name]), name
        diff = (logits_of(from_gguf, seqs) - ref).abs().max().item()
        print(f"GGUF via transformers vs saved folder: max abs {diff:.3g} (all {len(saved.state_dict())} tensors equal)")
        assert diff <= 1e-6, diff
    sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    print(f"wrote {sum(sizes.values())} bytes: {sizes}")
    print(f"transformers {__import__('transformers').__version__}, torch {torch.__version__}, gguf {gguf.__version__ if hasattr(gguf, '__version__') else '?'}")


if __name__ == "__main__":
    main()
