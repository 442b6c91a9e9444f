package org.prunelab.tensor.sparse;

import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.quant.QuantType;

/**
 * A bias-free linear layer whose 2:4 or 4:8 sparse weight [out_features, in_features] is held as a
 * {@link PackedNmQuantMatrix}: kept values in ggml Q8_0 or Q4_0 blocks plus their in-group positions.
 */
public final class NmQuantLinear implements Linear.RowSlices {
    private final PackedNmQuantMatrix weight;

    public NmQuantLinear(PackedNmQuantMatrix weight) {
        this.weight = weight;
    }

    /**
     * Packs and quantises a weight [out_features, in_features] with at most n nonzeros in every m consecutive
     * columns (see {@link PackedNmQuantMatrix#quantize}).
     *
     * @throws org.prunelab.PrunelabException.InvalidArgument if the pattern is not 2:4 or 4:8, the type not Q8_0 or
     *         Q4_0, or a group holds more than n nonzeros
     */
    public static NmQuantLinear of(FloatMatrix weight, int n, int m, QuantType type) {
        return new NmQuantLinear(PackedNmQuantMatrix.quantize(weight, n, m, type));
    }

    /** Whether {@link #of} accepts {@code weight} with this pattern and type (without building anything). */
    public static boolean fits(FloatMatrix weight, int n, int m, QuantType type) {
        return PackedNmQuantMatrix.supports(n, m) && PackedNmQuantMatrix.supports(type)
                && PackedNmMatrix.findViolation(weight, n, m).isEmpty();
    }

    public PackedNmQuantMatrix weight() { return weight; }

    @Override
    public int inFeatures() { return weight.cols(); }

    @Override
    public int outFeatures() { return weight.rows(); }

    /** {@inheritDoc} @throws IllegalArgumentException if a buffer is too short or tokens &lt; 1 */
    @Override
    public void forward(float[] x, int tokens, float[] y) {
        LinearChecks.buffers(weight.n() + ":" + weight.m() + " " + weight.type(), x, tokens, weight.cols(), y, weight.rows());
        weight.multiply(x, tokens, y);
    }

    @Override
    public void forwardRows(float[] x, float[] y, int from, int to) {
        for (int r = from; r < to; r++) {
            y[r] = NmQuantKernels.VECTOR ? NmQuantKernels.rowDot(weight, r, x) : NmQuantKernels.rowDotScalar(weight, r, x, 0);
        }
    }

    @Override
    public long parameterBytes() { return weight.bytes(); }

    @Override
    public long nonZeroParameters() { return weight.nonZeros(); }

    @Override
    public long totalParameters() { return (long) weight.rows() * weight.cols(); }
}
