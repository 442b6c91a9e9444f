package org.prunelab.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.io.GgufMetadata;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LinearRole;
import org.prunelab.model.NormRole;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The Qwen3 dense family (transformers' {@code Qwen3ForCausalLM}; Qwen3 0.6B ... 32B): a Llama block with an RMSNorm
 * over head_dim on every query and key head before RoPE ({@code self_attn.q_norm}, {@code self_attn.k_norm}, gains
 * {@code w} as Llama's norms), biases on q/k/v/o only when {@code attention_bias} is set, and Qwen2's optional
 * sliding window from {@code max_window_layers} on. llama.cpp stores it unpermuted (NEOX RoPE) with
 * {@code attn_q_norm} / {@code attn_k_norm}.
 */
public final class Qwen3Architecture extends StandardArchitecture {

    @Override public String name() { return "qwen3"; }

    @Override public String description() { return "Qwen3 dense models (Qwen3ForCausalLM; per-head q/k norms)"; }

    @Override public List<String> hfModelTypes() { return List.of("qwen3"); }

    @Override public String hfClassName() { return "Qwen3ForCausalLM"; }

    @Override public String ggufArchitecture() { return "qwen3"; }

    @Override
    protected String hfNormStem(NormRole role) {
        return switch (role) {
            case ATTENTION_INPUT -> "input_layernorm";
            case MLP_INPUT -> "post_attention_layernorm";
            case QUERY -> "self_attn.q_norm";
            case KEY -> "self_attn.k_norm";
            default -> throw new IllegalArgumentException("a Qwen3 block has no " + role + " norm");
        };
    }

    @Override protected boolean ggufPermutesQK() { return false; }

    @Override protected Set<LinearRole> hfBiasRoles() { return EnumSet.of(LinearRole.Q, LinearRole.K, LinearRole.V, LinearRole.O); }

    /** llama.cpp's qwen3 graph has no sliding window. */
    @Override
    protected java.util.Optional<String> cannotWriteGgufVariant(DecoderConfig c, org.prunelab.model.BlockShape shape) {
        if (c.variant().layerTypes() != null && c.variant().layerTypes().contains(DecoderConfig.Variant.SLIDING_ATTENTION)) {
            return java.util.Optional.of("it uses sliding-window attention (use_sliding_window), which llama.cpp's qwen3"
                    + " graph does not implement");
        }
        return java.util.Optional.empty();
    }

    @Override
    protected DecoderConfig.Variant readHfVariant(HfConfig.Reader r, int layers) {
        return Qwen2Architecture.qwenSlidingVariant(r, layers, true);
    }

    @Override
    protected DecoderConfig.Variant readGgufVariant(GgufMetadata md, String prefix, int layers) {
        return new DecoderConfig.Variant(DecoderConfig.Activation.SILU, true, false, 1.0, 0, 0, null, 0, 0);
    }

    @Override
    protected void writeHfKeys(ObjectNode o, DecoderConfig c, HfConfig.Export export) {
        HfConfig.putRope(o, c);
        o.put("hidden_act", "silu");
        o.put("attention_bias", export.attentionBias());
        o.put("attention_dropout", 0.0);
        Qwen2Architecture.putQwenSliding(o, c);
    }
}
