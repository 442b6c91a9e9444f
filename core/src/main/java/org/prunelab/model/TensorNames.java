package org.prunelab.model;

/**
 * A family's names for its tensors in Hugging Face form, so that {@link Transformer#fromTensors} can bind a
 * checkpoint's tensors without knowing the family. Implemented by each {@code Architecture}.
 */
public interface TensorNames {

    /** The embedding matrix {@code [vocab, hidden]}. */
    String embedTokens();

    /** The final norm's weight {@code [hidden]}. */
    String finalNorm();

    /** The untied LM head {@code [vocab, hidden]}. */
    String lmHead();

    /** Linear {@code role} of block {@code layer}, without the {@code .weight} / {@code .bias} suffix. */
    String linear(int layer, LinearRole role);

    /** Norm {@code role}'s weight in block {@code layer}, with the {@code .weight} suffix. */
    String norm(int layer, NormRole role);
}
