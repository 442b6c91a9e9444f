package org.prunelab.model;

import org.prunelab.PrunelabException;

/**
 * Hyper-parameters of a decoder-only transformer, with Hugging Face's meaning for each field
 * ({@code transformers.LlamaConfig} and its relatives). The {@code architecture} names the family (the
 * {@code org.prunelab.arch} registry's name: {@code llama}, {@code qwen2}, {@code gemma3}); only the architecture
 * files know Hugging Face's and GGUF's key names. What a family does differently from Llama's block is in
 * {@link Variant}; the 14-argument constructor makes a plain Llama config.
 *
 * @param architecture          registry name of the family
 * @param hiddenSize            width of the residual stream (SmolLM2-135M: 576)
 * @param intermediateSize      width of the gated MLP (1536)
 * @param numHiddenLayers       number of decoder blocks (30)
 * @param numAttentionHeads     query heads (9)
 * @param numKeyValueHeads      key/value heads; {@code numAttentionHeads} must be a multiple (3, grouped-query attention)
 * @param headDim               per-head width, usually hiddenSize / numAttentionHeads (64; Gemma 3 270M: 256 with hidden 640)
 * @param vocabSize             rows of the embedding and LM head (49152)
 * @param maxPositionEmbeddings the context length the model was trained for (8192)
 * @param rmsNormEps            epsilon inside RMSNorm
 * @param ropeTheta             RoPE base frequency (of the global-attention layers where a family has two)
 * @param ropeScaling           RoPE scaling ("llama3" or "linear"), or null for none
 * @param tieWordEmbeddings     whether the LM head shares the embedding matrix
 * @param bosTokenId            beginning-of-sequence token id, or -1
 * @param eosTokenId            end-of-sequence token id, or -1
 * @param variant               how the family's block departs from Llama's
 */
public record DecoderConfig(
        String architecture,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        int vocabSize,
        int maxPositionEmbeddings,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        int bosTokenId,
        int eosTokenId,
        Variant variant) {

    /** The registry name of the Llama family, the default. */
    public static final String LLAMA = "llama";

    public DecoderConfig {
        require(architecture != null && !architecture.isBlank(), "architecture must be named");
        require(variant != null, "variant must be given (Variant.LLAMA for a Llama block)");
        require(hiddenSize > 0, "hidden_size must be positive, got " + hiddenSize);
        require(intermediateSize > 0, "intermediate_size must be positive, got " + intermediateSize);
        require(numHiddenLayers >= 0, "num_hidden_layers must be >= 0, got " + numHiddenLayers);
        require(numAttentionHeads > 0, "num_attention_heads must be positive, got " + numAttentionHeads);
        require(numKeyValueHeads > 0 && numAttentionHeads % numKeyValueHeads == 0,
                "num_attention_heads (" + numAttentionHeads + ") must be a positive multiple of num_key_value_heads ("
                        + numKeyValueHeads + ")");
        require(headDim > 0, "head_dim must be positive, got " + headDim);
        require(vocabSize > 0, "vocab_size must be positive, got " + vocabSize);
        require(maxPositionEmbeddings > 0, "max_position_embeddings must be positive, got " + maxPositionEmbeddings);
        require(rmsNormEps > 0, "rms_norm_eps must be positive, got " + rmsNormEps);
        require(ropeTheta > 0, "rope_theta must be positive, got " + ropeTheta);
        require(variant.layerTypes() == null || variant.layerTypes().size() == numHiddenLayers,
                "layer_types lists " + (variant.layerTypes() == null ? 0 : variant.layerTypes().size())
                        + " layers but num_hidden_layers is " + numHiddenLayers);
    }

    /** A Llama config (SwiGLU, pre-norm, one RoPE, full attention everywhere). */
    public DecoderConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                         int numKeyValueHeads, int headDim, int vocabSize, int maxPositionEmbeddings, double rmsNormEps,
                         double ropeTheta, RopeScaling ropeScaling, boolean tieWordEmbeddings, int bosTokenId,
                         int eosTokenId) {
        this(LLAMA, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, headDim,
                vocabSize, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tieWordEmbeddings, bosTokenId,
                eosTokenId, Variant.LLAMA);
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new PrunelabException.ModelFormat("invalid model config: " + message);
    }

    /**
     * This config with other widths and layers, e.g. after structured pruning or layer removal: the variant keeps
     * everything but the per-layer attention types, which are {@code layerTypes} (null when the family has one kind).
     */
    public DecoderConfig withShape(int intermediateSize, int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads,
                                   java.util.List<String> layerTypes) {
        return new DecoderConfig(architecture, hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads,
                numKeyValueHeads, headDim, vocabSize, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling,
                tieWordEmbeddings, bosTokenId, eosTokenId, variant.withLayerTypes(layerTypes));
    }

    /** Whether layer {@code layer} attends within a sliding window ({@link Variant#slidingWindow()} tokens). */
    public boolean isSliding(int layer) {
        return variant.slidingWindow() > 0 && variant.layerTypes() != null
                && Variant.SLIDING_ATTENTION.equals(variant.layerTypes().get(layer));
    }

    /** Query heads that share one key/value head. */
    public int groupSize() { return numAttentionHeads / numKeyValueHeads; }

    /** Width of Q's output: numAttentionHeads * headDim. */
    public int qDim() { return numAttentionHeads * headDim; }

    /** Width of K's and V's output: numKeyValueHeads * headDim. */
    public int kvDim() { return numKeyValueHeads * headDim; }

    /**
     * RoPE scaling as in transformers' {@code rope_scaling} dict.
     *
     * @param type                          "llama3" or "linear"
     * @param factor                        scaling factor
     * @param lowFreqFactor                 llama3 only
     * @param highFreqFactor                llama3 only
     * @param originalMaxPositionEmbeddings llama3 only
     */
    public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {}

    /** The gated MLP's activation: {@code act(GATE(x)) * UP(x)}. */
    public enum Activation {
        /** SiLU (SwiGLU; Shazeer 2020): Llama, Mistral, Qwen2; transformers' {@code silu}. */
        SILU("silu"),
        /** GELU, tanh approximation (GeGLU): Gemma; transformers' {@code gelu_pytorch_tanh}. */
        GELU_TANH("gelu_pytorch_tanh");

        private final String hfName;

        Activation(String hfName) { this.hfName = hfName; }

        /** transformers' {@code hidden_act} / {@code hidden_activation} value. */
        public String hfName() { return hfName; }
    }

    /**
     * How a family's decoder block departs from Llama's pre-norm block. Each field is a transformers concept of the
     * family's config or modeling file.
     *
     * @param activation         the gated MLP's activation
     * @param qkNorm             RMSNorm over head_dim applied to every query and key head before RoPE (Gemma 3's
     *                           {@code q_norm}, {@code k_norm})
     * @param sandwichNorms      norms on the attention output and the MLP output before each residual add
     *                           (Gemma 2/3's {@code post_attention_layernorm}, {@code post_feedforward_layernorm})
     * @param embeddingScale     factor on the embedding rows entering block 0: 1, or sqrt(hidden_size) rounded to
     *                           float as transformers does (Gemma's scaled word embedding); the LM head is not scaled
     * @param queryPreAttnScalar attention scores are scaled by {@code 1/sqrt(queryPreAttnScalar)}; 0 means head_dim
     * @param slidingWindow      keys a sliding-window layer sees, counting the query's own position (0: none)
     * @param layerTypes         per layer {@value #FULL_ATTENTION} or {@value #SLIDING_ATTENTION}
     *                           (transformers' {@code layer_types}), or null when every layer attends fully
     * @param ropeLocalTheta     RoPE base of the sliding-window layers (Gemma 3's {@code rope_local_base_freq});
     *                           0 when there are none; they use no RoPE scaling
     * @param finalLogitSoftcap  logits become {@code cap * tanh(logits / cap)}; 0 means none
     */
    public record Variant(Activation activation, boolean qkNorm, boolean sandwichNorms, double embeddingScale,
                          double queryPreAttnScalar, int slidingWindow, java.util.List<String> layerTypes,
                          double ropeLocalTheta, double finalLogitSoftcap) {
        public static final String FULL_ATTENTION = "full_attention";
        public static final String SLIDING_ATTENTION = "sliding_attention";

        /** Llama's block: SwiGLU, two pre-norms, one RoPE, full attention, scores over sqrt(head_dim). */
        public static final Variant LLAMA = new Variant(Activation.SILU, false, false, 1.0, 0, 0, null, 0, 0);

        public Variant {
            if (activation == null) throw new PrunelabException.ModelFormat("invalid model config: no activation");
            if (embeddingScale <= 0 || queryPreAttnScalar < 0 || slidingWindow < 0 || finalLogitSoftcap < 0) {
                throw new PrunelabException.ModelFormat("invalid model config: embedding scale " + embeddingScale
                        + ", query_pre_attn_scalar " + queryPreAttnScalar + ", sliding_window " + slidingWindow
                        + ", final_logit_softcapping " + finalLogitSoftcap + " (none may be negative)");
            }
            if (layerTypes != null) {
                for (String t : layerTypes) {
                    if (!FULL_ATTENTION.equals(t) && !SLIDING_ATTENTION.equals(t)) {
                        throw new PrunelabException.ModelFormat("invalid model config: layer type '" + t + "'; expected "
                                + FULL_ATTENTION + " or " + SLIDING_ATTENTION);
                    }
                }
                layerTypes = java.util.List.copyOf(layerTypes);
                if (layerTypes.contains(SLIDING_ATTENTION) && (slidingWindow == 0 || ropeLocalTheta <= 0)) {
                    throw new PrunelabException.ModelFormat("invalid model config: sliding_attention layers need a"
                            + " positive sliding_window and local RoPE base, got " + slidingWindow + " and " + ropeLocalTheta);
                }
            }
        }

        /** This variant with other per-layer attention types (after layers were removed). */
        public Variant withLayerTypes(java.util.List<String> types) {
            return new Variant(activation, qkNorm, sandwichNorms, embeddingScale, queryPreAttnScalar, slidingWindow,
                    types, ropeLocalTheta, finalLogitSoftcap);
        }
    }
}
