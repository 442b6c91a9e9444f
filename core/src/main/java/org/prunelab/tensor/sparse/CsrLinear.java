package org.prunelab.tensor.sparse;

import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;

/** A bias-free linear layer whose weight [out_features, in_features] is held as a {@link CsrMatrix}. */
public final class CsrLinear implements Linear {
    private final CsrMatrix weight;

    public CsrLinear(CsrMatrix weight) {
        this.weight = weight;
    }

    /** Compresses a pruned weight [out_features, in_features]; its zeros are not stored. */
    public static CsrLinear of(FloatMatrix weight) {
        return new CsrLinear(CsrMatrix.of(weight));
    }

    public CsrMatrix weight() { return weight; }

    @Override
    public int inFeatures() { return weight.cols(); }

    @Override
    public int outFeatures() { return weight.rows(); }

    /** {@inheritDoc} @throws IllegalArgumentException if a buffer is too short or tokens &lt; 1 */
    @Override
    public void forward(float[] x, int tokens, float[] y) {
        LinearChecks.buffers("csr", x, tokens, weight.cols(), y, weight.rows());
        weight.multiply(x, tokens, y);
    }

    @Override
    public long parameterBytes() { return weight.bytes(); }

    @Override
    public long nonZeroParameters() { return weight.nonZeros(); }

    @Override
    public long totalParameters() { return (long) weight.rows() * weight.cols(); }
}
