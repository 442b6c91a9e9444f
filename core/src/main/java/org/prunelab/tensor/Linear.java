package org.prunelab.tensor;

/**
 * A linear layer y = x W^T (+ b), the unit pruning works on. W has the Hugging Face layout
 * {@code [outFeatures, inFeatures]}. Blocks hold their linears through this interface so that pruning
 * can swap one implementation for another (masked dense, packed N:M, CSR, a physically smaller dense
 * matrix, two low-rank factors) without touching the forward pass.
 */
public interface Linear {

    /** Number of input features (columns of W). */
    int inFeatures();

    /** Number of output features (rows of W). */
    int outFeatures();

    /**
     * Batched product for {@code tokens} rows at once.
     *
     * @param x      input, row-major {@code [tokens, inFeatures]} (at least that many elements)
     * @param tokens number of rows in x and y
     * @param y      output, row-major {@code [tokens, outFeatures]}; overwritten
     */
    void forward(float[] x, int tokens, float[] y);

    /** Bytes this layer's parameters occupy in memory in its current format. */
    long parameterBytes();

    /** Number of stored parameters that are not zero (weights and bias). */
    long nonZeroParameters();

    /** Number of parameters of the layer as a dense matrix of its current shape (weights and bias). */
    long totalParameters();

    /**
     * A linear with a one-token kernel for any slice of its output rows, run on the calling thread. Batch-1 decode
     * uses it to run the linears that read one input (a block's q/k/v, its gate/up) as one parallel loop over all their
     * rows ({@link Matvec#forwardAll}): one loop start per group instead of one per linear. Formats without it (CSR,
     * packed N:M, low-rank) run their own {@link #forward} one linear at a time.
     */
    interface RowSlices extends Linear {
        /**
         * {@code y[r] = W[r, :] . x (+ b[r])} for output rows r in [from, to), one token, on the calling thread; the
         * other entries of y are left as they are. Each row's sum is the same as {@link #forward}'s for one token.
         *
         * @param x {@code [inFeatures]} (at least)
         * @param y {@code [outFeatures]} (at least)
         */
        void forwardRows(float[] x, float[] y, int from, int to);
    }
}
