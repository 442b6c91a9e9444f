package org.prunelab.arch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.io.GgufMetadata;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LinearRole;
import org.prunelab.model.NormRole;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The Qwen2 family (transformers' {@code Qwen2ForCausalLM}): Qwen2, Qwen2.5 and the DeepSeek-R1-Distill-Qwen models.
 * A Llama block whose Q, K and V always carry biases and whose O and MLP never do ({@code Qwen2Attention},
 * {@code Qwen2MLP}); optional sliding-window attention on the layers from {@code max_window_layers} on when
 * {@code use_sliding_window} is set (same RoPE on every layer). llama.cpp stores it unpermuted (NEOX RoPE).
 */
public final class Qwen2Architecture extends StandardArchitecture {
    private static final Set<LinearRole> BIASED = EnumSet.of(LinearRole.Q, LinearRole.K, LinearRole.V);

    @Override public String name() { return "qwen2"; }

    @Override public String description() { return "Qwen2, Qwen2.5, DeepSeek-R1-Distill-Qwen (Qwen2ForCausalLM; q/k/v biases)"; }

    @Override public List<String> hfModelTypes() { return List.of("qwen2"); }

    @Override public String hfClassName() { return "Qwen2ForCausalLM"; }

    @Override public String ggufArchitecture() { return "qwen2"; }

    @Override
    protected String hfNormStem(NormRole role) {
        return switch (role) {
            case ATTENTION_INPUT -> "input_layernorm";
            case MLP_INPUT -> "post_attention_layernorm";
            default -> throw new IllegalArgumentException("a Qwen2 block has no " + role + " norm");
        };
    }

    @Override protected boolean ggufPermutesQK() { return false; }

    @Override protected Set<LinearRole> hfBiasRoles() { return BIASED; }

    /** Q, K and V are created with a bias by Qwen2's modeling code whatever the config; O and the MLP never. */
    @Override
    protected boolean carriesBias(LinearRole role, HfConfig.Export export) {
        return BIASED.contains(role);
    }

    /**
     * llama.cpp's qwen2 loader creates attn_q and attn_output as hidden x hidden ({@code src/models/qwen2.cpp}), so
     * the query heads must span hidden_size; and its graph has no sliding window.
     */
    @Override
    protected java.util.Optional<String> cannotWriteGgufVariant(DecoderConfig c, org.prunelab.model.BlockShape shape) {
        int qDim = shape.numAttentionHeads() * c.headDim();
        if (qDim != c.hiddenSize()) {
            return java.util.Optional.of("its " + shape.numAttentionHeads() + " query heads of " + c.headDim() + " span "
                    + qDim + ", not hidden_size " + c.hiddenSize() + ": llama.cpp's qwen2 loader creates attn_q and"
                    + " attn_output as hidden x hidden; prune MLP channels only, or save safetensors");
        }
        if (c.variant().layerTypes() != null && c.variant().layerTypes().contains(DecoderConfig.Variant.SLIDING_ATTENTION)) {
            return java.util.Optional.of("it uses sliding-window attention (use_sliding_window), which llama.cpp's qwen2"
                    + " graph does not implement");
        }
        return java.util.Optional.empty();
    }

    @Override protected double defaultRopeTheta() { return 10000.0; }

    @Override
    protected DecoderConfig.Variant readHfVariant(HfConfig.Reader r, int layers) {
        return qwenSlidingVariant(r, layers, false);
    }

    /**
     * The Qwen families' block: SwiGLU, with {@code qkNorm} per-head q/k norms (Qwen3), and when
     * {@code use_sliding_window} is set, sliding-window attention of {@code sliding_window} keys on the layers from
     * {@code max_window_layers} on (transformers' default {@code layer_types}), with the same RoPE as the others.
     */
    static DecoderConfig.Variant qwenSlidingVariant(HfConfig.Reader r, int layers, boolean qkNorm) {
        if (!r.optionalBoolean("use_sliding_window", false)) {
            return new DecoderConfig.Variant(DecoderConfig.Activation.SILU, qkNorm, false, 1.0, 0, 0, null, 0, 0);
        }
        int window = r.optionalInt("sliding_window", 4096);
        int fullLayers = r.optionalInt("max_window_layers", layers);
        List<String> types = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            types.add(i >= fullLayers ? DecoderConfig.Variant.SLIDING_ATTENTION : DecoderConfig.Variant.FULL_ATTENTION);
        }
        double theta = r.ropeTheta(r.root().path("rope_parameters"), 10000.0);
        return new DecoderConfig.Variant(DecoderConfig.Activation.SILU, qkNorm, false, 1.0, 0, window, types, theta, 0);
    }

    /** Qwen's {@code use_sliding_window}, {@code sliding_window} and {@code max_window_layers} for {@code c}. */
    static void putQwenSliding(ObjectNode o, DecoderConfig c) {
        List<String> types = c.variant().layerTypes();
        boolean sliding = types != null && types.contains(DecoderConfig.Variant.SLIDING_ATTENTION);
        o.put("use_sliding_window", sliding);
        o.put("sliding_window", sliding ? c.variant().slidingWindow() : 4096);
        o.put("max_window_layers", sliding ? types.indexOf(DecoderConfig.Variant.SLIDING_ATTENTION) : c.numHiddenLayers());
    }

    @Override
    protected DecoderConfig.Variant readGgufVariant(GgufMetadata md, String prefix, int layers) {
        return DecoderConfig.Variant.LLAMA; // llama.cpp's qwen2 graph has no sliding window
    }

    @Override
    protected void writeHfKeys(ObjectNode o, DecoderConfig c, HfConfig.Export export) {
        HfConfig.putRope(o, c);
        o.put("hidden_act", "silu");
        o.put("attention_dropout", 0.0);
        putQwenSliding(o, c);
    }
}
