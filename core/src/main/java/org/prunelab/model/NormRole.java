package org.prunelab.model;

/**
 * Where an RMSNorm sits in a decoder block. Llama has {@link #ATTENTION_INPUT} and {@link #MLP_INPUT}; Gemma 2/3 add
 * the sandwich norms {@link #ATTENTION_OUTPUT} and {@link #MLP_OUTPUT}, and Gemma 3 the per-head {@link #QUERY} and
 * {@link #KEY} norms. Each {@code Architecture} names them (Llama's {@code post_attention_layernorm} is
 * {@link #MLP_INPUT}; Gemma 3's is {@link #ATTENTION_OUTPUT}).
 */
public enum NormRole {
    /** Before attention, on the residual stream {@code [hidden]}. */
    ATTENTION_INPUT,
    /** On attention's output before the residual add {@code [hidden]}. */
    ATTENTION_OUTPUT,
    /** Before the MLP, on the residual stream {@code [hidden]}. */
    MLP_INPUT,
    /** On the MLP's output before the residual add {@code [hidden]}. */
    MLP_OUTPUT,
    /** On every query head before RoPE {@code [head_dim]}, shared by all heads. */
    QUERY,
    /** On every key head before RoPE {@code [head_dim]}, shared by all heads. */
    KEY
}
