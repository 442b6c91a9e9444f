package org.prunelab.model;

import org.prunelab.PrunelabException;

/**
 * Hyper-parameters of a Llama-family decoder, with Hugging Face's meaning for each field
 * ({@code transformers.LlamaConfig}). Only this record and {@link org.prunelab.io.HfConfigJson} know Hugging Face's key names.
 *
 * @param hiddenSize            width of the residual stream (SmolLM2-135M: 576)
 * @param intermediateSize      width of the SwiGLU MLP (1536)
 * @param numHiddenLayers       number of decoder blocks (30)
 * @param numAttentionHeads     query heads (9)
 * @param numKeyValueHeads      key/value heads; {@code numAttentionHeads} must be a multiple (3, grouped-query attention)
 * @param headDim               per-head width, usually hiddenSize / numAttentionHeads (64)
 * @param vocabSize             rows of the embedding and LM head (49152)
 * @param maxPositionEmbeddings the context length the model was trained for (8192)
 * @param rmsNormEps            epsilon inside RMSNorm
 * @param ropeTheta             RoPE base frequency
 * @param ropeScaling           RoPE scaling ("llama3" or "linear"), or null for none
 * @param tieWordEmbeddings     whether the LM head shares the embedding matrix
 * @param bosTokenId            beginning-of-sequence token id, or -1
 * @param eosTokenId            end-of-sequence token id, or -1
 */
public record LlamaConfig(
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
        int eosTokenId) {

    public LlamaConfig {
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
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new PrunelabException.ModelFormat("invalid Llama config: " + message);
    }

    /** Query heads that share one key/value head. */
    public int groupSize() { return numAttentionHeads / numKeyValueHeads; }

    /** Width of q_proj's output: numAttentionHeads * headDim. */
    public int qDim() { return numAttentionHeads * headDim; }

    /** Width of k_proj's and v_proj's output: numKeyValueHeads * headDim. */
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
}
