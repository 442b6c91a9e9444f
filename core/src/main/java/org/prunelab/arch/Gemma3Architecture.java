package org.prunelab.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.prunelab.PrunelabException;
import org.prunelab.io.GgufMetadata;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LinearRole;
import org.prunelab.model.NormRole;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The Gemma 3 text family (transformers' {@code Gemma3ForCausalLM}, {@code model_type} {@code gemma3_text}; Gemma 3
 * 270M, 1B): embeddings scaled by sqrt(hidden_size); RMSNorm gains {@code 1 + w} ({@code Gemma3RMSNorm}); per-head
 * q/k norms before RoPE; norms before and after attention and the MLP ({@code input_layernorm},
 * {@code post_attention_layernorm}, {@code pre_feedforward_layernorm}, {@code post_feedforward_layernorm}); GeGLU with
 * the tanh GELU; attention scores over sqrt({@code query_pre_attn_scalar}); five sliding-window layers (window
 * {@code sliding_window}, RoPE base 10,000) for every global one (RoPE base 1,000,000); a tied vocabulary of 262k.
 *
 * <p>llama.cpp's converter stores the norm gains {@code 1 + w} and leaves q/k unpermuted (NEOX RoPE); its GGUF
 * metadata has no layer pattern or local RoPE base, which llama.cpp fixes for Gemma 3 (every 6th layer global, base
 * 10,000) and so does this reader. Attention logit soft-capping and bidirectional attention (Gemma 3 options the
 * released text models leave off) are refused.
 */
public final class Gemma3Architecture extends StandardArchitecture {
    /** Every {@value}th layer attends globally (transformers' default {@code sliding_window_pattern}, llama.cpp's). */
    static final int SLIDING_WINDOW_PATTERN = 6;
    private static final double LOCAL_ROPE_THETA = 10_000.0;

    @Override public String name() { return "gemma3"; }

    @Override public String description() { return "Gemma 3 text models, e.g. Gemma 3 270M (Gemma3ForCausalLM)"; }

    @Override public List<String> hfModelTypes() { return List.of("gemma3_text"); }

    @Override public String hfClassName() { return "Gemma3ForCausalLM"; }

    @Override public String ggufArchitecture() { return "gemma3"; }

    @Override
    protected String hfNormStem(NormRole role) {
        return switch (role) {
            case ATTENTION_INPUT -> "input_layernorm";
            case ATTENTION_OUTPUT -> "post_attention_layernorm";
            case MLP_INPUT -> "pre_feedforward_layernorm";
            case MLP_OUTPUT -> "post_feedforward_layernorm";
            case QUERY -> "self_attn.q_norm";
            case KEY -> "self_attn.k_norm";
        };
    }

    @Override protected boolean ggufPermutesQK() { return false; }

    @Override protected double hfNormOffset() { return 1.0; }

    /** {@code attention_bias} switches biases on for Q, K, V and O; Gemma 3's MLP has none. */
    @Override protected Set<LinearRole> hfBiasRoles() { return EnumSet.of(LinearRole.Q, LinearRole.K, LinearRole.V, LinearRole.O); }

    @Override protected boolean defaultTieWordEmbeddings() { return true; }

    @Override protected double defaultRopeTheta() { return 1_000_000.0; }

    @Override protected int defaultMaxPositionEmbeddings() { return 131_072; }

    @Override protected int defaultBosTokenId() { return 2; }

    @Override protected int defaultEosTokenId() { return 1; }

    /** The default layer types: sliding everywhere but every {@value #SLIDING_WINDOW_PATTERN}th layer. */
    static List<String> defaultLayerTypes(int layers, int pattern) {
        List<String> types = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            types.add((i + 1) % pattern == 0 ? DecoderConfig.Variant.FULL_ATTENTION : DecoderConfig.Variant.SLIDING_ATTENTION);
        }
        return types;
    }

    /** sqrt(hidden_size) as a float, as transformers' scaled embedding holds it. */
    private static double embeddingScale(int hidden) {
        return (float) Math.sqrt(hidden);
    }

    @Override
    protected DecoderConfig.Variant readHfVariant(HfConfig.Reader r, int layers) {
        String act = r.optionalString("hidden_activation", r.optionalString("hidden_act", "gelu_pytorch_tanh"));
        if (!act.equals(DecoderConfig.Activation.GELU_TANH.hfName())) {
            throw new PrunelabException.ModelFormat(r.source() + " has hidden_activation '" + act + "'; prunelab implements"
                    + " Gemma 3 with gelu_pytorch_tanh, the released models' activation. Restore the model's config.json.");
        }
        if (r.root().hasNonNull("attn_logit_softcapping")) {
            throw new PrunelabException.ModelFormat(r.source() + " sets attn_logit_softcapping, which prunelab does not"
                    + " implement for Gemma 3 (the released Gemma 3 models leave it null)");
        }
        if (r.optionalBoolean("use_bidirectional_attention", false)) {
            throw new PrunelabException.ModelFormat(r.source() + " sets use_bidirectional_attention; prunelab implements"
                    + " causal decoders only");
        }
        List<String> types = new ArrayList<>();
        JsonNode given = r.root().get("layer_types");
        if (given != null && !given.isNull()) {
            if (!given.isArray()) throw r.bad("layer_types", "a list", given);
            for (JsonNode t : given) types.add(t.asText());
        } else {
            types = defaultLayerTypes(layers, r.optionalInt("sliding_window_pattern", SLIDING_WINDOW_PATTERN));
        }
        JsonNode local = r.root().path("rope_parameters").path(DecoderConfig.Variant.SLIDING_ATTENTION);
        String localType = local.path("rope_type").asText("default");
        if (!localType.equals("default")) {
            throw new PrunelabException.ModelFormat(r.source() + " scales the sliding-window layers' RoPE ('" + localType
                    + "'); prunelab implements scaling on the global layers only, as the released Gemma 3 models use it");
        }
        double localTheta = r.optionalDouble(local, "rope_theta", r.optionalDouble("rope_local_base_freq", LOCAL_ROPE_THETA));
        return new DecoderConfig.Variant(DecoderConfig.Activation.GELU_TANH, true, true,
                embeddingScale(r.requiredInt("hidden_size")), r.optionalDouble("query_pre_attn_scalar", 256),
                r.optionalInt("sliding_window", 4096), types, localTheta, r.optionalDouble("final_logit_softcapping", 0));
    }

    /**
     * The variant llama.cpp builds from the metadata: the layer pattern from {@code attention.sliding_window_pattern}
     * (a per-layer array, true for sliding, or a period; every 6th layer global when absent), the sliding layers'
     * RoPE base from {@code rope.freq_base_swa} (10,000 when absent), scores over sqrt(head_dim).
     */
    @Override
    protected DecoderConfig.Variant readGgufVariant(GgufMetadata md, String p, int layers) {
        int hidden = md.getInt(p + "embedding_length");
        int heads = md.getInt(p + "attention.head_count");
        // llama.cpp scales the scores by 1/sqrt(head_dim) (by hidden/heads for the 27B model only).
        int headDim = md.getInt(p + "attention.key_length", hidden / heads);
        return new DecoderConfig.Variant(DecoderConfig.Activation.GELU_TANH, true, true, embeddingScale(hidden), headDim,
                md.getInt(p + "attention.sliding_window"), ggufLayerTypes(md, p + "attention.sliding_window_pattern", layers),
                md.getDouble(p + "rope.freq_base_swa", LOCAL_ROPE_THETA), md.getDouble(p + "final_logit_softcapping", 0));
    }

    private static List<String> ggufLayerTypes(GgufMetadata md, String key, int layers) {
        if (!md.contains(key)) return defaultLayerTypes(layers, SLIDING_WINDOW_PATTERN);
        if (md.type(key) != org.prunelab.io.GgufValueType.ARRAY) return defaultLayerTypes(layers, md.getInt(key));
        List<Object> flags = md.getArray(key).values();
        if (flags.size() != layers) {
            throw new PrunelabException.ModelFormat("GGUF metadata " + key + " lists " + flags.size() + " layers but"
                    + " block_count is " + layers + "; re-convert the model");
        }
        List<String> types = new ArrayList<>();
        for (Object f : flags) {
            boolean sliding = f instanceof Boolean b ? b : ((Number) f).longValue() != 0;
            types.add(sliding ? DecoderConfig.Variant.SLIDING_ATTENTION : DecoderConfig.Variant.FULL_ATTENTION);
        }
        return types;
    }

    /** The converter writes key_length and value_length for Gemma 3 whatever their value. */
    @Override protected boolean ggufHeadDimRequired(DecoderConfig c) { return true; }

    /**
     * The window, the final soft-cap (when set), the sliding layers' RoPE base (where not llama.cpp's default 10,000)
     * and the layer pattern as a per-layer bool array (where not llama.cpp's default of every 6th layer global, e.g.
     * after ShortGPT removed blocks); llama.cpp reads all four ({@code src/models/gemma3.cpp}).
     */
    @Override
    protected void addGgufFamilyKeys(List<GgufPlan.Key> keys, DecoderConfig c) {
        DecoderConfig.Variant v = c.variant();
        keys.add(ggufFloat("final_logit_softcapping", v.finalLogitSoftcap(), v.finalLogitSoftcap() > 0));
        keys.add(ggufUint("attention.sliding_window", v.slidingWindow(), true));
        double localTheta = v.ropeLocalTheta() > 0 ? v.ropeLocalTheta() : LOCAL_ROPE_THETA;
        keys.add(ggufFloat("rope.freq_base_swa", localTheta, localTheta != LOCAL_ROPE_THETA));
        List<Object> flags = new ArrayList<>();
        List<String> types = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            flags.add(c.isSliding(i));
            types.add(c.isSliding(i) ? DecoderConfig.Variant.SLIDING_ATTENTION : DecoderConfig.Variant.FULL_ATTENTION);
        }
        keys.add(new GgufPlan.Key(ggufArchitecture() + ".attention.sliding_window_pattern", org.prunelab.io.GgufValueType.ARRAY,
                new GgufMetadata.GgufArray(org.prunelab.io.GgufValueType.BOOL, flags),
                !types.equals(defaultLayerTypes(c.numHiddenLayers(), SLIDING_WINDOW_PATTERN))));
    }

    /**
     * llama.cpp scales Gemma 3's scores by 1/sqrt(head_dim) (1/sqrt(hidden/heads) for the 62-layer 27B only) and has
     * no key for query_pre_attn_scalar, so another scalar cannot be stated.
     */
    @Override
    protected java.util.Optional<String> cannotWriteGgufVariant(DecoderConfig c, org.prunelab.model.BlockShape shape) {
        double scalar = c.variant().queryPreAttnScalar();
        if (scalar != 0 && scalar != c.headDim()) {
            return java.util.Optional.of("its query_pre_attn_scalar is " + scalar + ", not head_dim " + c.headDim()
                    + ": llama.cpp's gemma3 graph scales scores by 1/sqrt(head_dim) and GGUF has no key for another scale");
        }
        return java.util.Optional.empty();
    }

    @Override
    protected void writeHfKeys(ObjectNode o, DecoderConfig c, HfConfig.Export export) {
        DecoderConfig.Variant v = c.variant();
        o.put("hidden_activation", v.activation().hfName());
        // Gemma3TextConfig declares query_pre_attn_scalar an int, and transformers 5's strict config check refuses a
        // float there (24.0): a whole value goes out as an integer.
        double scalar = v.queryPreAttnScalar() > 0 ? v.queryPreAttnScalar() : c.headDim();
        if (scalar == Math.rint(scalar)) o.put("query_pre_attn_scalar", (long) scalar); else o.put("query_pre_attn_scalar", scalar);
        o.put("sliding_window", v.slidingWindow());
        var types = o.putArray("layer_types");
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            types.add(c.isSliding(i) ? DecoderConfig.Variant.SLIDING_ATTENTION : DecoderConfig.Variant.FULL_ATTENTION);
        }
        ObjectNode rope = o.putObject("rope_parameters");
        ObjectNode full = rope.putObject(DecoderConfig.Variant.FULL_ATTENTION);
        DecoderConfig.RopeScaling s = c.ropeScaling();
        full.put("rope_type", s == null ? "default" : s.type());
        full.put("rope_theta", c.ropeTheta());
        if (s != null) full.put("factor", s.factor());
        ObjectNode local = rope.putObject(DecoderConfig.Variant.SLIDING_ATTENTION);
        local.put("rope_type", "default");
        local.put("rope_theta", v.ropeLocalTheta() > 0 ? v.ropeLocalTheta() : LOCAL_ROPE_THETA);
        if (v.finalLogitSoftcap() > 0) o.put("final_logit_softcapping", v.finalLogitSoftcap()); else o.putNull("final_logit_softcapping");
        o.putNull("attn_logit_softcapping");
        o.put("attention_bias", export.attentionBias());
        o.put("use_bidirectional_attention", false);
    }
}
