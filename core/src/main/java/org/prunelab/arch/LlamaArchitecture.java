package org.prunelab.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LinearRole;
import org.prunelab.model.NormRole;

import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The Llama family (transformers' {@code LlamaForCausalLM}): Llama 2/3, SmolLM2, and Mistral checkpoints without a
 * sliding window. Pre-norm blocks with {@code input_layernorm} and {@code post_attention_layernorm} (the MLP's input
 * norm), SwiGLU, one RoPE (default, linear or llama3 scaling), optional biases on the attention and MLP linears
 * ({@code attention_bias}, {@code mlp_bias}). llama.cpp's converter permutes q/k rows for its interleaved RoPE.
 */
public final class LlamaArchitecture extends StandardArchitecture {

    @Override public String name() { return DecoderConfig.LLAMA; }

    @Override public String description() { return "Llama 2/3, SmolLM2, Mistral without sliding window (LlamaForCausalLM)"; }

    @Override public List<String> hfModelTypes() { return List.of("llama", "mistral"); }

    @Override public String hfClassName() { return "LlamaForCausalLM"; }

    @Override public String ggufArchitecture() { return "llama"; }

    @Override
    protected String hfNormStem(NormRole role) {
        return switch (role) {
            case ATTENTION_INPUT -> "input_layernorm";
            case MLP_INPUT -> "post_attention_layernorm";
            default -> throw new IllegalArgumentException("a Llama block has no " + role + " norm");
        };
    }

    @Override protected boolean ggufPermutesQK() { return true; }

    @Override protected Set<LinearRole> hfBiasRoles() { return EnumSet.allOf(LinearRole.class); }

    /** llama.cpp's llama loader reads optional biases on all seven linears ({@code src/models/llama.cpp}). */
    @Override protected Set<LinearRole> ggufBiasRoles() { return EnumSet.allOf(LinearRole.class); }

    /** The converter's {@code vocab_size} and {@code rope.dimension_count} (head_dim), both derivable: kept where the source has them. */
    @Override
    protected void addGgufFamilyKeys(List<GgufPlan.Key> keys, DecoderConfig c) {
        keys.add(ggufUint("vocab_size", c.vocabSize(), false));
        keys.add(ggufUint("rope.dimension_count", c.headDim(), false));
    }

    @Override
    protected void writeHfKeys(ObjectNode o, DecoderConfig c, HfConfig.Export export) {
        HfConfig.putRope(o, c);
        o.put("hidden_act", "silu");
        o.put("attention_bias", export.attentionBias());
        o.put("mlp_bias", export.mlpBias());
    }
}
