package org.prunelab.prune;

import org.prunelab.tensor.Gram;

/**
 * SparseGPT's input statistics: {@code H = (2 / N) * sum_t x_t x_t^T} over the N calibration tokens, an
 * {@code [inFeatures, inFeatures]} matrix (Frantar &amp; Alistarh 2023, Sec. 3: the Hessian of the
 * layer-wise squared error). The sum is kept in double, upper triangle only, and scaled on request.
 *
 * <p>The reference ({@code lib/sparsegpt.py} add_batch) rescales a float32 running H by n/(n+b) per batch
 * with b counting sequences; that changes H by a constant factor, which SparseGPT's result does not
 * depend on (damping is relative to mean(diag H), and the weight update uses ratios of H^-1 entries).
 * Double accumulation is used because the Cholesky factor of the damped inverse amplifies rounding in H
 * (a float32 H moved the pruned weights of a real DOWN by about 1e-2 relative).
 *
 * <p>Cost: inFeatures^2 / 2 multiply-adds per token, as double-precision dgemm on native BLAS ({@link Gram}).
 */
public final class HessianStats implements CalibrationStats {
    private final int in;
    private final double[] sum; // [in, in], upper triangle (j >= i) used
    private long tokens;
    private double[] stage; // Gram's double staging buffer, kept: a fresh one per batch was megabytes of garbage
    private boolean lastUse; // the next factorisation may turn the accumulator into its factor
    private boolean consumed; // it did: the accumulator is gone

    /** @param inFeatures number of input features (columns of the weight); H is inFeatures^2 doubles */
    public HessianStats(int inFeatures) {
        this.in = inFeatures;
        this.sum = new double[Math.multiplyExact(inFeatures, inFeatures)];
    }

    @Override
    public int inFeatures() { return in; }

    @Override
    public long tokens() { return tokens; }

    @Override
    public void add(float[] x, int tokens) {
        requireIntact();
        CalibrationStats.checkBatch(x, tokens, in);
        // Each element of the triangle is owned by one task, so the sums do not depend on scheduling.
        stage = Gram.accumulateUpper(x, tokens, in, sum, stage);
        this.tokens += tokens;
    }

    /**
     * The accumulator itself: {@code sum x x^T}, upper triangle ({@code j >= i}) only; for {@link ObsSweep}, which
     * only reads it unless {@link #isLastUse()}.
     *
     * @throws IllegalStateException if a factorisation already consumed it
     */
    double[] upperSum() {
        requireIntact();
        return sum;
    }

    /**
     * Marks the next factorisation as this accumulator's last use (the last linear of its input group): it may then
     * become the factor in place ({@link Cholesky#upperFactorOfInverse(double[], double, double[], double, int, boolean)}),
     * which saves two n x n fp64 arrays (5.7 GB on a 7B model's down_proj at n = 18,944).
     */
    void markLastUse() { lastUse = true; }

    /** Whether the next factorisation may consume the accumulator. */
    boolean isLastUse() { return lastUse; }

    /** Records that the accumulator became a factor: every later read throws. */
    void markConsumed() { consumed = true; }

    private void requireIntact() {
        if (consumed) throw new IllegalStateException("this Hessian accumulator was factored in place on its last use");
    }

    /**
     * A fresh full symmetric copy of {@code H = (2 / N) * sum x x^T}, row-major {@code [in, in]}.
     * Before any token was added this is the zero matrix.
     *
     * @throws IllegalStateException if a factorisation already consumed the accumulator
     */

    /** {@code 2 / N}, the factor from the accumulator to {@code H}; 0 before any token. */
    double scale() { return tokens == 0 ? 0 : 2.0 / tokens; }

    public double[] hessian() {
        requireIntact();
        double[] h = new double[sum.length];
        double scale = tokens == 0 ? 0 : 2.0 / tokens;
        for (int i = 0; i < in; i++) {
            for (int j = i; j < in; j++) {
                double v = scale * sum[i * in + j];
                h[i * in + j] = v;
                h[j * in + i] = v;
            }
        }
        return h;
    }
}
