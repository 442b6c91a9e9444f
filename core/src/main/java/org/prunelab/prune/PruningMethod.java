package org.prunelab.prune;

import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * A per-matrix pruning method. The calibration loop, for every linear of a block, creates statistics
 * with {@link #newStats}, feeds them the linear's inputs ({@link CalibrationStats#add}), then calls
 * {@link #prune}. Methods never read files, log or print.
 *
 * @param <S> the statistics this method needs
 */
public interface PruningMethod<S extends CalibrationStats> {

    /** The MLflow {@code method} value: {@code magnitude}, {@code wanda}, {@code sparsegpt}. */
    String name();

    /** False if {@link #prune} ignores calibration data, so the loop may skip the forward passes. */
    default boolean needsCalibration() { return true; }

    /** Empty statistics for a linear with {@code inFeatures} inputs. */
    S newStats(int inFeatures);

    /**
     * Bytes one input group's statistics hold ({@link #newStats}), for the memory model ({@link MemoryModel}): none by
     * default.
     */
    default long statsBytes(int inFeatures) { return 0; }

    /**
     * Bytes allocated while pruning one {@code [rows, cols]} matrix beyond the matrix, its copy and its statistics, for
     * the memory model: by default one fp64 score per weight and the mask's bits (magnitude, Wanda).
     */
    default long pruneBytes(int rows, int cols) { return 8L * rows * cols + (long) rows * cols / 8; }

    /**
     * {@link #pruneBytes(int, int)} of a matrix that is {@code alone} in its input group (o_proj, down_proj) or not
     * (q/k/v, gate/up share their inputs and statistics): a method whose last use of a group's statistics may turn
     * them into its temporaries (SparseGPT's Hessian becoming its factor) allocates less for a lone matrix.
     */
    default long pruneBytes(int rows, int cols, boolean alone) { return pruneBytes(rows, cols); }

    /**
     * Prunes {@code weight} in place: removed weights become 0, and methods with a compensation step
     * (SparseGPT) also change the kept ones.
     *
     * @param weight  {@code [out_features, in_features]}, modified in place
     * @param stats   statistics of this linear's inputs, from {@link #newStats}
     * @param pattern unstructured sparsity or N:M
     * @return the mask and what else happened
     * @throws org.prunelab.PrunelabException.InvalidArgument if the stats do not fit the weight, hold no
     *         tokens (for methods that need calibration), or M does not divide in_features
     * @throws org.prunelab.PrunelabException if the method's numerics fail (SparseGPT's Cholesky)
     */
    PruneResult prune(FloatMatrix weight, S stats, SparsityPattern pattern);

    /**
     * Whether {@link #pruneAndQuantize} prunes and GPTQ-quantises in one pass (SparseGPT, whose OBS update takes the
     * quantisation error along with the pruning error). For other methods the loop prunes with {@link #prune} and
     * then quantises the pruned matrix with {@link GptqQuantizer}, keeping the mask.
     */
    default boolean quantizesJointly() { return false; }

    /**
     * Prunes and quantises {@code weight} in place in one pass; only for methods whose {@link #quantizesJointly()}.
     *
     * @param weight  {@code [out_features, in_features]}, in_features a multiple of 32; overwritten with the stored
     *                values
     * @param format  the GGUF block format
     * @return the mask and, in {@link PruneResult#quantized()}, the block bytes
     * @throws UnsupportedOperationException if this method does not quantise jointly
     */
    default PruneResult pruneAndQuantize(FloatMatrix weight, S stats, SparsityPattern pattern, QuantType format) {
        throw new UnsupportedOperationException(name() + " does not quantise in its pruning pass");
    }
}
