package org.prunelab.model;

import org.prunelab.tensor.Parallel;
import org.prunelab.tensor.VectorMath;

/**
 * Root-mean-square layer norm (Zhang &amp; Sennrich 2019) as in transformers' {@code LlamaRMSNorm}:
 * {@code y = w * x / sqrt(mean(x^2) + eps)} per row, no mean subtraction, no bias.
 */
public final class RmsNorm {
    private final float[] weight;
    private final float eps;

    /** @param weight {@code [hidden]} gain (held, not copied) @param eps added to the mean square */
    public RmsNorm(float[] weight, double eps) {
        this.weight = weight;
        this.eps = (float) eps;
    }

    /** The gain vector {@code [hidden]} (not a copy). */
    public float[] weight() { return weight; }

    public double eps() { return eps; }

    /**
     * Normalises each row of x into y; x and y may be the same array.
     *
     * @param x {@code [tokens, hidden]} @param y {@code [tokens, hidden]}, overwritten
     */
    public void forward(float[] x, int tokens, float[] y) {
        int h = weight.length;
        Parallel.forRange(tokens, 64, (from, to) -> {
            for (int t = from; t < to; t++) {
                float meanSquare = VectorMath.sumOfSquares(x, t * h, h) / h;
                float inv = (float) (1.0 / Math.sqrt(meanSquare + eps));
                VectorMath.scaleByWeight(x, t * h, h, inv, weight, y);
            }
        });
    }
}
