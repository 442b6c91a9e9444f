package org.prunelab.tensor.sparse;

import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;

/** A bias-free linear layer whose N:M-sparse weight [out_features, in_features] is a {@link PackedNmMatrix}. */
public final class NmLinear implements Linear {
    private final PackedNmMatrix weight;

    public NmLinear(PackedNmMatrix weight) {
        this.weight = weight;
    }

    /**
     * Packs a weight [out_features, in_features] with at most n nonzeros in every m consecutive columns.
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if a group holds more than n nonzeros
     */
    public static NmLinear of(FloatMatrix weight, int n, int m) {
        return new NmLinear(PackedNmMatrix.of(weight, n, m));
    }

    public PackedNmMatrix weight() { return weight; }

    @Override
    public int inFeatures() { return weight.cols(); }

    @Override
    public int outFeatures() { return weight.rows(); }

    /** {@inheritDoc} @throws IllegalArgumentException if a buffer is too short or tokens &lt; 1 */
    @Override
    public void forward(float[] x, int tokens, float[] y) {
        LinearChecks.buffers(weight.n() + ":" + weight.m(), x, tokens, weight.cols(), y, weight.rows());
        weight.multiply(x, tokens, y);
    }

    @Override
    public long parameterBytes() { return weight.bytes(); }

    @Override
    public long nonZeroParameters() { return weight.nonZeros(); }

    @Override
    public long totalParameters() { return (long) weight.rows() * weight.cols(); }
}
