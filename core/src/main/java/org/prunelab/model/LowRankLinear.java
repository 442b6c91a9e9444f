package org.prunelab.model;


import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;

/**
 * A linear layer stored as two thin factors, {@code W ~= B A}, computed as two products
 * {@code y = (x A^T) B^T}: {@code A} is {@code [rank, inFeatures]}, {@code B} is {@code [outFeatures, rank]}
 * (Hugging Face layout for both, so each factor is itself a linear's weight). Costs
 * {@code rank * (in + out)} multiply-adds per token instead of {@code in * out}. Saved as
 * {@code <prefix>.lowrank_a} and {@code <prefix>.lowrank_b} ({@code org.prunelab.arch.PrunedModelWriter}).
 */
public final class LowRankLinear implements Linear {
    private final FloatMatrix a;
    private final FloatMatrix b;

    /**
     * @param a {@code [rank, inFeatures]}
     * @param b {@code [outFeatures, rank]}
     * @throws IllegalArgumentException if the ranks disagree
     */
    public LowRankLinear(FloatMatrix a, FloatMatrix b) {
        if (a.rows() != b.cols()) {
            throw new IllegalArgumentException("low-rank factors disagree: A has " + a.rows() + " rows, B has " + b.cols() + " columns");
        }
        this.a = a;
        this.b = b;
    }

    /** The first factor {@code [rank, inFeatures]} (not a copy). */
    public FloatMatrix a() { return a; }

    /** The second factor {@code [outFeatures, rank]} (not a copy). */
    public FloatMatrix b() { return b; }

    public int rank() { return a.rows(); }

    @Override
    public int inFeatures() { return a.cols(); }

    @Override
    public int outFeatures() { return b.rows(); }

    @Override
    public void forward(float[] x, int tokens, float[] y) {
        float[] mid = new float[tokens * a.rows()];
        Gemm.active().linear(x, tokens, a, mid);
        Gemm.active().linear(mid, tokens, b, y);
    }

    @Override
    public long parameterBytes() { return 4L * totalParameters(); }

    @Override
    public long nonZeroParameters() { return a.size() - a.countZeros() + b.size() - b.countZeros(); }

    @Override
    public long totalParameters() { return a.size() + b.size(); }

    @Override
    public String toString() { return "LowRankLinear[" + outFeatures() + " x " + inFeatures() + ", rank " + rank() + "]"; }
}
