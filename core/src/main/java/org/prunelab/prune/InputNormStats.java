package org.prunelab.prune;

/**
 * Wanda's input statistics: the mean of squares of each input feature over all calibration tokens,
 * so that {@code sqrt(meanSquares[j])} is the L2 norm of feature j up to a constant (Sun et al. 2024,
 * Sec. 3, "||X_j||_2").
 *
 * <p>The reference code (locuslab/wanda {@code lib/layerwrapper.py}) keeps a running float32 mean,
 * {@code scaler_row *= n / (n + b); n += b; scaler_row += ||x||^2 / n}, where b counts the batch's
 * <em>sequences</em>, not tokens, so its value is seqlen times ours. Here the sum is kept in double and
 * divided by the number of tokens; the constant factor cancels in every comparison Wanda and OWL make
 * (within a row, within a group of M, and against a multiple of the mean).
 */
public final class InputNormStats implements CalibrationStats {
    private final double[] sumSquares;
    private long tokens;

    /** @param inFeatures number of input features of the linear (columns of its weight) */
    public InputNormStats(int inFeatures) {
        this.sumSquares = new double[inFeatures];
    }

    @Override
    public int inFeatures() { return sumSquares.length; }

    @Override
    public long tokens() { return tokens; }

    @Override
    public void add(float[] x, int tokens) {
        int in = sumSquares.length;
        CalibrationStats.checkBatch(x, tokens, in);
        for (int t = 0; t < tokens; t++) {
            int base = t * in;
            for (int j = 0; j < in; j++) {
                double v = x[base + j];
                sumSquares[j] += v * v;
            }
        }
        this.tokens += tokens;
    }

    /** Mean of squares per input feature, {@code [inFeatures]}; zeros before any token was added. */
    public double[] meanSquares() {
        double[] m = new double[sumSquares.length];
        if (tokens == 0) return m;
        for (int j = 0; j < m.length; j++) m[j] = sumSquares[j] / tokens;
        return m;
    }

    /** Root mean square per input feature, {@code [inFeatures]}: Wanda's ||X_j|| up to a constant. */
    public double[] norms() {
        double[] m = meanSquares();
        for (int j = 0; j < m.length; j++) m[j] = Math.sqrt(m[j]);
        return m;
    }
}
