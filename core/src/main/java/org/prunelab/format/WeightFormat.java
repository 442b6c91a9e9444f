package org.prunelab.format;

import java.util.Optional;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;

/**
 * One way of holding and executing a linear layer's weight {@code [out_features, in_features]}: dense fp32,
 * compressed sparse rows, packed N:M, two low-rank factors, GGUF's Q8_0 / Q4_0 blocks, packed N:M with int8 values.
 * Every place that chooses, converts, counts or saves formats iterates {@link WeightFormats#all()}; a new format is
 * one class implementing this interface plus a line in that list.
 *
 * <p>A format knows: whether it can hold a given layer ({@link #misfit}), how to encode one
 * ({@link #encode}), whether a layer already is in it ({@link #holds}), the dense weight of a layer it holds
 * ({@link #decode}), what a weight costs in it ({@link #weightBytes}), and the GGUF tensor type its bytes are written as
 * unchanged, if any ({@link #ggufType}). The kernels are the {@link Linear}s it builds.
 */
public interface WeightFormat {

    /** The name on the command line, in MLflow and in reports: {@code dense}, {@code csr}, {@code nm}, {@code q8_0}, ... */
    String name();

    /** One line for {@code --help} and reports: what is stored and what the kernel does. */
    String description();

    /**
     * Whether encoding keeps every weight exactly (dense, CSR, packed N:M, low-rank as held) or rounds it
     * (quantised formats). {@code --format auto} only ever picks lossless formats, or keeps a layer in the
     * lossy format it already has.
     */
    boolean lossless();

    /** Whether {@code layer} already is held in this format. */
    boolean holds(Linear layer);

    /**
     * Why {@code layer} cannot be encoded in this format, or empty when it can; one sentence that names the format
     * that would work. Called for every layer before any is converted, so a refused request changes nothing.
     */
    Optional<String> misfit(Linear layer);

    /**
     * The layer in this format, computing the same product (exactly for lossless formats, up to the format's
     * rounding otherwise). Returns {@code layer} itself when {@link #holds} is true. Never modifies {@code layer}.
     *
     * @throws IllegalArgumentException if {@link #misfit} is not empty
     */
    Linear encode(Linear layer);

    /**
     * The dense weight {@code [out_features, in_features]} of a layer this format holds (the rounded values for a
     * quantised format; a fresh matrix unless the format is dense).
     *
     * @throws IllegalArgumentException if this format does not hold {@code layer}
     */
    FloatMatrix decode(Linear layer);

    /**
     * Bytes a weight {@code [rows, cols]} with {@code nonZeros} nonzero entries takes in memory in this format (bias
     * excluded), as {@link Linear#parameterBytes()} of the encoded layer reports it; used to predict and compare.
     */
    long weightBytes(int rows, int cols, long nonZeros);

    /**
     * The ggml tensor type ({@code "F32"}, {@code "Q8_0"}, {@code "Q4_0"}) a GGUF writer copies this format's bytes
     * as, or empty when the format has no GGUF type and a writer must convert the decoded weight.
     */
    default Optional<String> ggufType() { return Optional.empty(); }

    /**
     * The format a whole-model conversion to this one puts the LM head in, or empty to leave the head as it is. The
     * quantised formats quantise the head too, as {@code llama-quantize} does, since batch-1 decode streams it every
     * token (SmolLM2's tied head is 113 MB of fp32 against 430 MB for all 210 block linears).
     */
    default Optional<String> lmHeadFormat() { return Optional.empty(); }

    /** The label of a layer this format holds, for reports ({@code 2:4} for packed N:M); the name by default. */
    default String label(Linear layer) { return name(); }
}
