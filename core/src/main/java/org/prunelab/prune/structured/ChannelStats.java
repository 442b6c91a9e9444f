package org.prunelab.prune.structured;

import org.prunelab.prune.CalibrationStats;
import org.prunelab.tensor.Gram;

/**
 * Per-channel statistics of one consuming linear's input (O's or DOWN's) over the calibration tokens:
 * sums and sums of squares for every channel (FLAP's mean and variance, Wanda's norm), and optionally the Gram
 * matrix {@code X^T X} that least-squares restoration solves with. All sums in double.
 */
public final class ChannelStats implements CalibrationStats {
    private double[] stage; // Gram's double staging buffer, reused across batches

    private final int in;
    private final double[] sum;
    private final double[] sumSquares;
    private final double[] gram; // [in, in] upper triangle, or null
    private long tokens;

    /** @param inFeatures channels (columns of the consuming weight) @param withGram whether to keep X^T X */
    public ChannelStats(int inFeatures, boolean withGram) {
        this.in = inFeatures;
        this.sum = new double[inFeatures];
        this.sumSquares = new double[inFeatures];
        this.gram = withGram ? new double[Math.multiplyExact(inFeatures, inFeatures)] : null;
    }

    @Override
    public int inFeatures() { return in; }

    @Override
    public long tokens() { return tokens; }

    @Override
    public void add(float[] x, int tokens) {
        CalibrationStats.checkBatch(x, tokens, in);
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < in; j++) {
                double v = x[t * in + j];
                sum[j] += v;
                sumSquares[j] += v * v;
            }
        }
        if (gram != null) {
            stage = Gram.accumulateUpper(x, tokens, in, gram, stage);
        }
        this.tokens += tokens;
    }

    /** Mean of each channel, {@code [in]}. */
    public double[] mean() {
        double[] m = new double[in];
        for (int j = 0; j < in; j++) m[j] = tokens == 0 ? 0 : sum[j] / tokens;
        return m;
    }

    /** Root mean square of each channel, {@code [in]}: Wanda's ||X_j|| up to the constant sqrt(N). */
    public double[] norms() {
        double[] m = new double[in];
        for (int j = 0; j < in; j++) m[j] = tokens == 0 ? 0 : Math.sqrt(sumSquares[j] / tokens);
        return m;
    }

    /** Population variance of each channel over the tokens, {@code [in]} (FLAP's fluctuation). */
    public double[] variance() {
        double[] v = new double[in];
        for (int j = 0; j < in; j++) {
            if (tokens == 0) continue;
            double mean = sum[j] / tokens;
            v[j] = Math.max(0, sumSquares[j] / tokens - mean * mean);
        }
        return v;
    }

    /**
     * {@code X^T X / N}, full symmetric, row-major {@code [in, in]} (a fresh copy).
     *
     * @throws IllegalStateException if made without the Gram matrix
     */
    public double[] gram() {
        if (gram == null) throw new IllegalStateException("these statistics were made without the Gram matrix");
        double[] g = new double[gram.length];
        double scale = tokens == 0 ? 0 : 1.0 / tokens;
        for (int i = 0; i < in; i++) {
            for (int j = i; j < in; j++) {
                double v = scale * gram[i * in + j];
                g[i * in + j] = v;
                g[j * in + i] = v;
            }
        }
        return g;
    }
}
