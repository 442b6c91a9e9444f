package org.prunelab.model;

/**
 * What a linear does in a decoder block, whatever the family calls it: each {@code Architecture} names its
 * roles (Llama's query projection is {@link #Q}). A block has one linear per role. Weights are
 * {@code [out_features, in_features]}.
 */
public enum LinearRole {
    /** Query projection {@code [heads * head_dim, hidden]}. */
    Q,
    /** Key projection {@code [kv_heads * head_dim, hidden]}. */
    K,
    /** Value projection {@code [kv_heads * head_dim, hidden]}. */
    V,
    /** Attention output projection {@code [hidden, heads * head_dim]}. */
    O,
    /** The MLP's gate {@code [intermediate, hidden]}, through the activation. */
    GATE,
    /** The MLP's up projection {@code [intermediate, hidden]}, multiplied by the activated gate. */
    UP,
    /** The MLP's down projection {@code [hidden, intermediate]}. */
    DOWN;

    /** Whether the role belongs to attention (Q, K, V, O) rather than the MLP. */
    public boolean isAttention() {
        return this == Q || this == K || this == V || this == O;
    }
}
