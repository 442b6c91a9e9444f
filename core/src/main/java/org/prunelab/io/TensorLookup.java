package org.prunelab.io;

import org.prunelab.tensor.FloatMatrix;

/**
 * Named fp32 tensors, as a model file reader provides them: under the file's own names (a GGUF file's, or a
 * safetensors checkpoint's Hugging Face names), or under Hugging Face names as an {@code Architecture} presents a
 * GGUF file. Matrices are row-major; linear weights are {@code [out_features, in_features]}.
 */
public interface TensorLookup {

    /** The 2-D tensor {@code name}; throws a {@link org.prunelab.PrunelabException.ModelFormat} if absent. */
    FloatMatrix matrix(String name);

    /** The 1-D tensor {@code name}; throws a {@link org.prunelab.PrunelabException.ModelFormat} if absent. */
    float[] vector(String name);

    /** Whether a tensor of that name exists. */
    boolean has(String name);
}
