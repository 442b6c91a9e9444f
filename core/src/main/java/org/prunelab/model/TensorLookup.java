package org.prunelab.model;

import org.prunelab.tensor.FloatMatrix;

/**
 * Named fp32 tensors under their Hugging Face names ({@code model.layers.3.self_attn.q_proj.weight}), as a
 * model file reader provides them. Matrices are row-major; linear weights are {@code [out_features, in_features]}
 * with q_proj/k_proj rows in Hugging Face order (a GGUF reader must undo llama.cpp's RoPE permutation).
 */
public interface TensorLookup {

    /** The 2-D tensor {@code hfName}; throws a {@link org.prunelab.PrunelabException.ModelFormat} if absent. */
    FloatMatrix matrix(String hfName);

    /** The 1-D tensor {@code hfName}; throws a {@link org.prunelab.PrunelabException.ModelFormat} if absent. */
    float[] vector(String hfName);

    /** Whether a tensor of that name exists. */
    boolean has(String hfName);
}
