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

    /**
     * The tensor's shape as {@link #matrix} or {@link #vector} would return it ({@code [rows, cols]} or {@code [length]}),
     * read from the file's header without touching its data; empty when absent or when the source cannot tell.
     */
    default java.util.Optional<long[]> shape(String name) { return java.util.Optional.empty(); }

    /**
     * Says the tensor's stored bytes will not be read again soon: a memory-mapped source drops their pages from the
     * process's resident set ({@link PageRelease}); the tensor stays readable. Used by the streaming pipeline after
     * it has dequantised a block. Does nothing by default, or for an absent name.
     */
    default void evict(String name) {}
}
