package org.prunelab.prune;

import java.util.List;
import org.prunelab.PrunelabException;

/**
 * OWL's layer-wise sparsity (Yin et al., "Outlier Weighed Layerwise Sparsity (OWL)", ICML 2024, Sec. 4):
 * blocks with more outlier Wanda scores are pruned less, and the mean sparsity over blocks stays the
 * target.
 *
 * <p>Per block l, {@code D_l} is the share of its Wanda scores above {@code M * mean}, where, as in the
 * reference code (luuyin/OWL {@code lib/prune_all.py}), the scores of <em>all</em> the block's linears are
 * concatenated and the mean is taken over that concatenation (not per matrix). D is rescaled linearly to
 * [0, 2 * lambda] and block l gets sparsity {@code S - (D_l - mean(D))}. The reference's percent scale
 * for D cancels in the rescaling; when all D are equal (or there is one block) every block gets S
 * (the reference would divide by zero). Defaults M = 5, lambda = 0.08 (the paper's LLaMA settings).
 */
public final class OwlAllocator {
    public static final double DEFAULT_M = 5.0;
    public static final double DEFAULT_LAMBDA = 0.08;

    private final double m;
    private final double lambda;

    /** M = 5, lambda = 0.08. */
    public OwlAllocator() {
        this(DEFAULT_M, DEFAULT_LAMBDA);
    }

    /**
     * @param m      outlier threshold as a multiple of the block's mean score, &gt; 0
     * @param lambda half-width of the sparsity range around the target, in [0, 0.5)
     */
    public OwlAllocator(double m, double lambda) {
        if (!(m > 0) || !(lambda >= 0 && lambda < 0.5)) {
            throw new PrunelabException.InvalidArgument("OWL needs M > 0 and lambda in [0, 0.5), got M=" + m
                    + ", lambda=" + lambda + ": the paper uses M=5, lambda=0.08");
        }
        this.m = m;
        this.lambda = lambda;
    }

    /**
     * The outlier ratio of one block: the fraction of all its scores above M times their mean.
     *
     * @param blockScores Wanda scores of each linear of the block ({@link WandaPruner#wandaScores})
     * @throws PrunelabException.InvalidArgument if there are no scores
     */
    public double outlierRatio(List<double[]> blockScores) {
        long n = 0;
        double sum = 0;
        for (double[] s : blockScores) {
            n += s.length;
            for (double v : s) sum += v;
        }
        if (n == 0) {
            throw new PrunelabException.InvalidArgument("OWL: a block has no scores: pass the Wanda scores of its linears");
        }
        double threshold = m * (sum / n);
        long above = 0;
        for (double[] s : blockScores) for (double v : s) if (v > threshold) above++;
        return (double) above / n;
    }

    /**
     * Per-block sparsities from per-block outlier ratios.
     *
     * @param outlierRatios D_l for each block, in block order
     * @param sparsity      target mean sparsity S in [0, 1)
     * @return sparsity of each block; their mean is S
     * @throws PrunelabException.InvalidArgument if S is outside [0, 1), no blocks are given, or a block's
     *         sparsity would leave [0, 1) (lower lambda)
     */
    public double[] allocate(double[] outlierRatios, double sparsity) {
        SparsityPattern.unstructured(sparsity);
        int n = outlierRatios.length;
        if (n == 0) throw new PrunelabException.InvalidArgument("OWL: no blocks given: pass one outlier ratio per block");
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double d : outlierRatios) {
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        double[] out = new double[n];
        if (max == min) {
            java.util.Arrays.fill(out, sparsity);
            return out;
        }
        double[] scaled = new double[n];
        double mean = 0;
        for (int l = 0; l < n; l++) {
            scaled[l] = (outlierRatios[l] - min) / (max - min) * (2 * lambda);
            mean += scaled[l];
        }
        mean /= n;
        for (int l = 0; l < n; l++) {
            out[l] = sparsity - (scaled[l] - mean);
            if (!(out[l] >= 0 && out[l] < 1)) {
                throw new PrunelabException.InvalidArgument("OWL: block " + l + " would get sparsity " + out[l]
                        + " (target " + sparsity + ", lambda " + lambda + "): use a smaller lambda");
            }
        }
        return out;
    }

    /** {@link #outlierRatio} of every block, then {@link #allocate}. */
    public double[] allocateFromScores(List<List<double[]>> scoresPerBlock, double sparsity) {
        double[] d = new double[scoresPerBlock.size()];
        for (int l = 0; l < d.length; l++) d[l] = outlierRatio(scoresPerBlock.get(l));
        return allocate(d, sparsity);
    }
}
