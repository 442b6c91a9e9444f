package org.prunelab.prune;

import org.prunelab.tensor.FloatMatrix;

/**
 * Wanda (Sun, Liu, Bair &amp; Kolter, "A Simple and Effective Pruning Approach for Large Language Models",
 * ICLR 2024, Sec. 3): score {@code S_ij = |W_ij| * ||X_j||}, compared within each output row; the
 * {@code floor(in_features * sparsity)} lowest of every row are removed, the rest left unchanged.
 * N:M uses the same score within each group of M.
 */
public final class WandaPruner extends ScorePruner<InputNormStats> {
    /** The registry entry. */
    public static final Method METHOD = LayerwisePruner.method("wanda", "score |W_ij| * ||X_j||, remove the lowest of every output row",
            "Sun, Liu, Bair & Kolter, \"A Simple and Effective Pruning Approach for Large Language Models\", ICLR 2024",
            "every output row's weights (floor(in_features x sparsity) per row)", true, WandaPruner::new);

    @Override
    public String name() { return "wanda"; }

    @Override
    public InputNormStats newStats(int inFeatures) { return new InputNormStats(inFeatures); }

    /**
     * Wanda scores {@code |W_ij| * sqrt(meanSquares_j)}, row-major {@code [out, in]}, in double. Also the
     * input of {@link OwlAllocator}.
     */
    public static double[] wandaScores(FloatMatrix weight, InputNormStats stats) {
        Checks.stats("wanda", weight, stats, true);
        double[] norms = stats.norms();
        float[] w = weight.data();
        int cols = weight.cols();
        double[] s = new double[w.length];
        for (int i = 0; i < w.length; i++) s[i] = Math.abs((double) w[i]) * norms[i % cols];
        return s;
    }

    @Override
    protected double[] scores(FloatMatrix weight, InputNormStats stats) {
        return wandaScores(weight, stats);
    }

    @Override
    protected MaskSelector.Group group() { return MaskSelector.Group.ROW; }

    @Override
    protected int deadInputs(InputNormStats stats) {
        int dead = 0;
        for (double m : stats.meanSquares()) if (m == 0) dead++;
        return dead;
    }

    /** Squared input norms: one fp64 per input feature. */
    @Override
    public long statsBytes(int inFeatures) { return 8L * inFeatures; }
}
