package org.prunelab.model;

import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Matvec;

/**
 * A dense linear layer {@code y = x W^T + b}, computed by {@link Gemm#active()}. The weight is held, not
 * copied: pruning edits it in place through {@link #weight()}.
 *
 * <p>One exception: a single token (batch-1 decode) goes to the Vector API matvec ({@link Matvec}) even when BLAS is
 * active. OpenBLAS's one-row product streamed the weights markedly slower here: SmolLM2-135M decode ran at 11 tokens/s
 * through BLAS and 19 through the Vector API kernel (same run conditions, {@code prunelab bench}), and the
 * kernel bench in {@code results/sparse-kernel-bench.md} shows 2-3x per matvec. Decode is bandwidth-bound, so
 * the faster dense path is also the honest baseline for the sparse formats. {@link #forwardTogether} runs a block's
 * linears that share an input (q/k/v, gate/up) as one parallel loop.
 */
public final class DenseLinear implements Linear.RowSlices {
    private final FloatMatrix weight;
    private final float[] bias;

    /**
     * @param weight {@code [outFeatures, inFeatures]}, Hugging Face layout
     * @param bias   {@code [outFeatures]}, or null for none
     * @throws IllegalArgumentException if the bias length is not outFeatures
     */
    public DenseLinear(FloatMatrix weight, float[] bias) {
        if (bias != null && bias.length != weight.rows()) {
            throw new IllegalArgumentException("bias has " + bias.length + " entries but the weight has "
                    + weight.rows() + " output rows");
        }
        this.weight = weight;
        this.bias = bias;
    }

    /** The weight {@code [outFeatures, inFeatures]} (not a copy). */
    public FloatMatrix weight() { return weight; }

    /** The bias {@code [outFeatures]} (not a copy), or null. */
    public float[] bias() { return bias; }

    @Override
    public int inFeatures() { return weight.cols(); }

    @Override
    public int outFeatures() { return weight.rows(); }

    @Override
    public void forward(float[] x, int tokens, float[] y) {
        if (tokens == 1) {
            Matvec.multiply(weight, x, 0, y, 0);
        } else {
            Gemm.active().linear(x, tokens, weight, y);
        }
        addBias(y, tokens);
    }

    private void addBias(float[] y, int tokens) {
        if (bias == null) return;
        int out = weight.rows();
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) y[t * out + o] += bias[o];
        }
    }

    /**
     * {@code ys[i] = x W_i^T (+ b_i)} for linears that read the same input, e.g. a block's q/k/v or gate/up. One token
     * through linears that all have row slices (dense, Q8_0, Q4_0) runs as a single parallel loop over all their output
     * rows ({@link Matvec#forwardAll}): one loop start per group instead of one per linear, with the threads' shares
     * balanced across the group. Anything else (several tokens, a format without row slices) runs each linear's own
     * {@link Linear#forward}.
     *
     * @param group linears with the same {@code inFeatures}
     * @param x     {@code [tokens, inFeatures]}
     * @param ys    {@code ys[i]} is {@code [tokens, group[i].outFeatures()]}; overwritten
     */
    static void forwardTogether(Linear[] group, float[] x, int tokens, float[][] ys) {
        boolean slices = tokens == 1;
        for (Linear l : group) slices &= l instanceof Linear.RowSlices;
        if (!slices) {
            for (int i = 0; i < group.length; i++) group[i].forward(x, tokens, ys[i]);
            return;
        }
        Linear.RowSlices[] rs = new Linear.RowSlices[group.length];
        for (int i = 0; i < group.length; i++) rs[i] = (Linear.RowSlices) group[i];
        Matvec.forwardAll(rs, x, ys);
    }

    @Override
    public void forwardRows(float[] x, float[] y, int from, int to) {
        Matvec.rows(weight.data(), weight.cols(), from, to, x, 0, y, 0);
        if (bias != null) for (int r = from; r < to; r++) y[r] += bias[r];
    }

    @Override
    public long parameterBytes() { return 4L * totalParameters(); }

    @Override
    public long nonZeroParameters() {
        long n = weight.size() - weight.countZeros();
        if (bias != null) for (float b : bias) if (b != 0f) n++;
        return n;
    }

    @Override
    public long totalParameters() { return weight.size() + (bias == null ? 0 : bias.length); }

    @Override
    public String toString() { return "DenseLinear[" + weight.rows() + " x " + weight.cols() + (bias != null ? ", bias]" : "]"); }
}
