package org.prunelab.prune;

/**
 * M-Wanda's language-aware input statistics (Choenni &amp; Titov, "M-Wanda: Improving One-Shot Pruning for
 * Multilingual LLMs", EMNLP 2025, arXiv:2505.21171): for each calibration language l and input feature j, the
 * mean of squares of x_j over that language's tokens (so {@code a_lj = sqrt(meanSquares)} is Wanda's ||X_j|| computed
 * on language l alone, up to a constant) and the share of those tokens on which x_j is positive (the feature's
 * activation probability in l, as in language-specific-neuron work).
 *
 * <p>The calibration loop feeds one window after another, in window order ({@link CalibrationLoop}); a window's language
 * is looked up from the running token count: tokens {@code [w * seqlen, (w + 1) * seqlen)} are window w. A batch that
 * spans windows is split at their boundaries.
 */
public final class MWandaStats implements CalibrationStats {
    private final int in;
    private final int seqlen;
    private final int[] windowLanguage;
    private final int languages;
    private final double[][] sumSquares;
    private final long[][] positive;
    private final long[] languageTokens;
    private long tokens;

    /**
     * @param inFeatures     input features of the linear
     * @param seqlen         tokens per calibration window
     * @param windowLanguage language index (0..languages-1) of each window in the order the loop feeds them, or null
     *                       when every token is of one language
     * @param languages      number of languages, at least 1
     */
    public MWandaStats(int inFeatures, int seqlen, int[] windowLanguage, int languages) {
        if (languages < 1 || seqlen < 1) throw new IllegalArgumentException("languages and seqlen must be at least 1");
        this.in = inFeatures;
        this.seqlen = seqlen;
        this.windowLanguage = windowLanguage;
        this.languages = languages;
        this.sumSquares = new double[languages][inFeatures];
        this.positive = new long[languages][inFeatures];
        this.languageTokens = new long[languages];
    }

    @Override public int inFeatures() { return in; }
    @Override public long tokens() { return tokens; }

    /** Number of languages this object separates. */
    public int languages() { return languages; }

    /** Calibration tokens seen of language l. */
    public long tokens(int language) { return languageTokens[language]; }

    /**
     * @throws IllegalStateException if more tokens arrive than the windows named in the constructor hold
     */
    @Override
    public void add(float[] x, int tokens) {
        CalibrationStats.checkBatch(x, tokens, in);
        for (int t = 0; t < tokens; t++) {
            long token = this.tokens + t;
            int l = 0;
            if (windowLanguage != null) {
                long window = token / seqlen;
                if (window >= windowLanguage.length) {
                    throw new IllegalStateException("M-Wanda statistics were made for " + windowLanguage.length
                            + " windows of " + seqlen + " tokens but received token " + token);
                }
                l = windowLanguage[(int) window];
            }
            double[] sq = sumSquares[l];
            long[] pos = positive[l];
            int base = t * in;
            for (int j = 0; j < in; j++) {
                double v = x[base + j];
                sq[j] += v * v;
                if (v > 0) pos[j]++;
            }
            languageTokens[l]++;
        }
        this.tokens += tokens;
    }

    /** {@code a_lj}: root mean square of feature j over language l's tokens, {@code [languages][inFeatures]}. */
    public double[][] norms() {
        double[][] a = new double[languages][in];
        for (int l = 0; l < languages; l++) {
            if (languageTokens[l] == 0) continue;
            for (int j = 0; j < in; j++) a[l][j] = Math.sqrt(sumSquares[l][j] / languageTokens[l]);
        }
        return a;
    }

    /** {@code p_lj}: share of language l's tokens on which feature j is positive, {@code [languages][inFeatures]}. */
    public double[][] activationProbabilities() {
        double[][] p = new double[languages][in];
        for (int l = 0; l < languages; l++) {
            if (languageTokens[l] == 0) continue;
            for (int j = 0; j < in; j++) p[l][j] = (double) positive[l][j] / languageTokens[l];
        }
        return p;
    }

    /** Languages with at least one token (the others are left out of every average). */
    public int languagesSeen() {
        int n = 0;
        for (long t : languageTokens) if (t > 0) n++;
        return n;
    }

    /**
     * M-Wanda's per-feature activation importance {@code A_j} (see {@link MWandaPruner} for the formula), over the
     * languages that were seen:
     * {@code A_j = max(0, mean_l a_lj - alpha * std_l a_lj) + beta * mean_l a_lj * (max_l p_lj - mean_l p_lj)}.
     * With one language, or languages whose statistics are identical, {@code A_j = a_j}: Wanda's norm.
     */
    public double[] importance(double alpha, double beta) {
        double[][] a = norms();
        double[][] p = activationProbabilities();
        double[] out = new double[in];
        int n = languagesSeen();
        if (n == 0) return out;
        for (int j = 0; j < in; j++) {
            double mean = 0, pMean = 0, pMax = Double.NEGATIVE_INFINITY;
            for (int l = 0; l < languages; l++) {
                if (languageTokens[l] == 0) continue;
                mean += a[l][j];
                pMean += p[l][j];
                pMax = Math.max(pMax, p[l][j]);
            }
            mean /= n;
            pMean /= n;
            double var = 0;
            for (int l = 0; l < languages; l++) {
                if (languageTokens[l] == 0) continue;
                double d = a[l][j] - mean;
                var += d * d;
            }
            double std = Math.sqrt(var / n);
            double shared = n == 1 ? mean : Math.max(0, mean - alpha * std);
            double specific = n == 1 ? 0 : beta * mean * (pMax - pMean);
            out[j] = shared + specific;
        }
        return out;
    }

    /** Bytes held: a double and a long per language and feature. */
    public static long bytes(int inFeatures, int languages) {
        return 16L * inFeatures * languages;
    }
}
