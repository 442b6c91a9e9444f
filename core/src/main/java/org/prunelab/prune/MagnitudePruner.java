package org.prunelab.prune;

import org.prunelab.tensor.FloatMatrix;

/**
 * Magnitude pruning: score |W_ij|, one threshold per weight matrix (ties at the threshold are removed
 * too, as in the reference's sort-based threshold; see {@link MaskSelector}). N:M uses |W| within each
 * group of M. Needs no calibration data.
 */
public final class MagnitudePruner extends ScorePruner<NoStats> {
    /** The registry entry. */
    public static final Method METHOD = LayerwisePruner.method("magnitude", "score |W|, remove the smallest weights",
            "Han et al., \"Learning both Weights and Connections for Efficient Neural Networks\", NeurIPS 2015",
            "each linear's weights, one threshold per matrix (ties at the threshold removed too); N:M: the smallest M - N of"
                    + " every group of M", false, MagnitudePruner::new);

    @Override
    public String name() { return "magnitude"; }

    @Override
    public boolean needsCalibration() { return false; }

    @Override
    public NoStats newStats(int inFeatures) { return new NoStats(inFeatures); }

    @Override
    protected double[] scores(FloatMatrix weight, NoStats stats) {
        float[] w = weight.data();
        double[] s = new double[w.length];
        for (int i = 0; i < w.length; i++) s[i] = Math.abs(w[i]);
        return s;
    }

    @Override
    protected MaskSelector.Group group() { return MaskSelector.Group.MATRIX; }
}
