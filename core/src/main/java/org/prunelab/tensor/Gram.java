package org.prunelab.tensor;

/**
 * Accumulates a Gram matrix {@code S += X^T X} in double precision, the kernel behind SparseGPT's Hessian.
 *
 * <p>{@code X} is row-major {@code [rows, cols]} (one token per row), {@code S} row-major {@code [cols, cols]};
 * only the upper triangle ({@code j >= i}) of {@code S} is defined afterwards, the rest holds partial sums
 * and must be ignored. With native BLAS the update is a set of {@code dgemm} calls on column blocks
 * of the triangle, split over {@link Parallel}'s threads; without it, a Vector API loop does the same sums.
 * Both sum every product in double, so they agree to double rounding.
 */
public final class Gram {
    /** Columns of S per task: small enough to balance the triangle over threads, large enough for dgemm. */
    private static final int BLOCK = 64;

    private Gram() {}

    /**
     * {@code S[i, j] += sum_r X[r, i] * X[r, j]} for {@code j >= i}.
     *
     * @param x    {@code [rows, cols]} row-major, at least {@code rows * cols} long
     * @param rows number of rows (tokens) of X to use
     * @param cols number of columns (features)
     * @param sum  {@code [cols, cols]} row-major accumulator
     * @throws IllegalArgumentException if an array is too short
     */
    public static void accumulateUpper(double[] x, int rows, int cols, double[] sum) {
        accumulateUpper(x, rows, cols, sum, BlasGemm.isNative());
    }

    /** Rows of float input staged into double per {@link #accumulateUpper(float[], int, int, double[], double[])} call. */
    public static final int STAGE_ROWS = 256;

    /**
     * The same for float input: rows are converted to double {@value #STAGE_ROWS} at a time in {@code stage}
     * (at least {@code STAGE_ROWS * cols} long; pass the returned buffer back next time, or null to allocate one),
     * so a caller that adds many batches allocates it once.
     *
     * @return the staging buffer used, for the next call
     */
    public static double[] accumulateUpper(float[] x, int rows, int cols, double[] sum, double[] stage) {
        if ((long) rows * cols > x.length) {
            throw new IllegalArgumentException("Gram: x needs " + rows + " x " + cols + ", got " + x.length);
        }
        if (stage == null || stage.length < STAGE_ROWS * cols) stage = new double[STAGE_ROWS * cols];
        for (int r0 = 0; r0 < rows; r0 += STAGE_ROWS) {
            int c = Math.min(STAGE_ROWS, rows - r0);
            for (int k = 0; k < c * cols; k++) stage[k] = x[r0 * cols + k];
            accumulateUpper(stage, c, cols, sum);
        }
        return stage;
    }

    static void accumulateUpper(double[] x, int rows, int cols, double[] sum, boolean nativeBlas) {
        if ((long) rows * cols > x.length || (long) cols * cols > sum.length) {
            throw new IllegalArgumentException("Gram: x needs " + rows + " x " + cols + " and sum " + cols + " x " + cols
                    + ", got " + x.length + " and " + sum.length);
        }
        if (rows == 0 || cols == 0) return;
        int blocks = (cols + BLOCK - 1) / BLOCK;
        if (nativeBlas) {
            dev.ludovic.netlib.blas.BLAS blas = BlasGemm.serial().blas();
            // Column-major view: X is A = [cols, rows] (lda = cols) and row-major S's upper triangle is the
            // column-major lower triangle. Block [i0, i1) of it is S_cm[i0:, i0:i1] += A[i0:, :] A[i0:i1, :]^T.
            Parallel.forRange(blocks, 1, (b0, b1) -> {
                for (int b = b0; b < b1; b++) {
                    int i0 = b * BLOCK;
                    int n = Math.min(BLOCK, cols - i0);
                    blas.dgemm("N", "T", cols - i0, n, rows, 1.0, x, i0, cols, x, i0, cols,
                            1.0, sum, i0 * cols + i0, cols);
                }
            });
        } else {
            Parallel.forRange(cols, 8, (i0, i1) -> {
                for (int i = i0; i < i1; i++) {
                    for (int r = 0; r < rows; r++) {
                        double a = x[r * cols + i];
                        if (a != 0) axpy(a, x, r * cols + i, sum, i * cols + i, cols - i);
                    }
                }
            });
        }
    }

    private static void axpy(double alpha, double[] x, int xo, double[] y, int yo, int len) {
        var species = jdk.incubator.vector.DoubleVector.SPECIES_PREFERRED;
        var va = jdk.incubator.vector.DoubleVector.broadcast(species, alpha);
        int k = 0;
        for (int upper = species.loopBound(len); k < upper; k += species.length()) {
            jdk.incubator.vector.DoubleVector.fromArray(species, x, xo + k)
                    .fma(va, jdk.incubator.vector.DoubleVector.fromArray(species, y, yo + k)).intoArray(y, yo + k);
        }
        for (; k < len; k++) y[yo + k] += alpha * x[xo + k];
    }
}
