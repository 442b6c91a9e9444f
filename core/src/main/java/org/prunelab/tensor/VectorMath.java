package org.prunelab.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise and row-reduction kernels of the forward pass on the JDK Vector API. Exponentials use the
 * vector {@code EXP} operator, which HotSpot compiles to a short-vector math routine on x86; a scalar
 * {@link Math#exp} per element would cost more than the attention products themselves at seqlen 512.
 * All methods work on a slice {@code [off, off + n)} of an array and are single-threaded; callers
 * parallelise over rows.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();

    // Lane i pairs with lane i ^ step; adding v to its permutation at steps V/2, ..., 1 leaves the total in lane 0.
    private static final VectorShuffle<Float> FOLD_8 = fold(8), FOLD_4 = fold(4), FOLD_2 = fold(2), FOLD_1 = fold(1);

    private VectorMath() {}

    private static VectorShuffle<Float> fold(int step) {
        return VectorShuffle.fromOp(S, i -> (i ^ step) % V);
    }

    /**
     * Sum of v's lanes in one fixed order (a pairwise tree), the same whether the code runs interpreted or
     * compiled. {@code reduceLanes(ADD)} leaves the order open, and its interpreted and compiled forms differ in
     * the last bits, so a kernel that used it gave different results before and after the JIT compiled it.
     */
    public static float sumLanes(FloatVector v) {
        if (V > 8) v = v.add(v.rearrange(FOLD_8));
        if (V > 4) v = v.add(v.rearrange(FOLD_4));
        if (V > 2) v = v.add(v.rearrange(FOLD_2));
        if (V > 1) v = v.add(v.rearrange(FOLD_1));
        return v.lane(0);
    }

    /** Largest element of x[off, off + n); n must be positive. */
    public static float max(float[] x, int off, int n) {
        int i = 0;
        float m = Float.NEGATIVE_INFINITY;
        if (n >= V) {
            FloatVector acc = FloatVector.fromArray(S, x, off);
            for (i = V; i + V <= n; i += V) acc = acc.max(FloatVector.fromArray(S, x, off + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** Replaces x[off, off + n) by its softmax, subtracting the maximum first so no exponential overflows. */
    public static void softmaxInPlace(float[] x, int off, int n) {
        float m = max(x, off, n);
        int i = 0;
        FloatVector sumV = FloatVector.zero(S);
        for (; i + V <= n; i += V) {
            FloatVector e = FloatVector.fromArray(S, x, off + i).sub(m).lanewise(VectorOperators.EXP);
            e.intoArray(x, off + i);
            sumV = sumV.add(e);
        }
        float sum = sumV.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - m);
            x[off + i] = e;
            sum += e;
        }
        scale(x, off, n, 1f / sum);
    }

    /** log(sum_i exp(x_i)) over x[off, off + n), stable (max subtracted) and summed in double per vector. */
    public static double logSumExp(float[] x, int off, int n) {
        float m = max(x, off, n);
        int i = 0;
        double sum = 0;
        for (; i + V <= n; i += V) {
            sum += FloatVector.fromArray(S, x, off + i).sub(m).lanewise(VectorOperators.EXP).reduceLanes(VectorOperators.ADD);
        }
        for (; i < n; i++) sum += Math.exp(x[off + i] - m);
        return m + Math.log(sum);
    }

    /** x[off, off + n) *= s. */
    public static void scale(float[] x, int off, int n, float s) {
        int i = 0;
        for (; i + V <= n; i += V) FloatVector.fromArray(S, x, off + i).mul(s).intoArray(x, off + i);
        for (; i < n; i++) x[off + i] *= s;
    }

    /** acc[off, off + n) += x[off, off + n). */
    public static void addInPlace(float[] acc, float[] x, int off, int n) {
        int i = 0;
        for (; i + V <= n; i += V) {
            FloatVector.fromArray(S, acc, off + i).add(FloatVector.fromArray(S, x, off + i)).intoArray(acc, off + i);
        }
        for (; i < n; i++) acc[off + i] += x[off + i];
    }

    /** Sum of squares of x[off, off + n). */
    public static float sumOfSquares(float[] x, int off, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; i + V <= n; i += V) {
            FloatVector v = FloatVector.fromArray(S, x, off + i);
            acc = v.fma(v, acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) s += x[off + i] * x[off + i];
        return s;
    }

    /** y[off, off + n) = x[off, off + n) * s * w[0, n): RMSNorm's scaling of one row. */
    public static void scaleByWeight(float[] x, int off, int n, float s, float[] w, float[] y) {
        int i = 0;
        for (; i + V <= n; i += V) {
            FloatVector.fromArray(S, x, off + i).mul(s).mul(FloatVector.fromArray(S, w, i)).intoArray(y, off + i);
        }
        for (; i < n; i++) y[off + i] = w[i] * (x[off + i] * s);
    }

    /**
     * SwiGLU's gating: gate[off, off + n) = silu(gate) * up, with silu(g) = g / (1 + exp(-g))
     * (Shazeer 2020, "GLU Variants Improve Transformer").
     */
    public static void siluMulInPlace(float[] gate, float[] up, int off, int n) {
        int i = 0;
        for (; i + V <= n; i += V) {
            FloatVector g = FloatVector.fromArray(S, gate, off + i);
            FloatVector denom = g.neg().lanewise(VectorOperators.EXP).add(1f);
            g.div(denom).mul(FloatVector.fromArray(S, up, off + i)).intoArray(gate, off + i);
        }
        for (; i < n; i++) {
            float g = gate[off + i];
            gate[off + i] = (float) (g / (1.0 + Math.exp(-g))) * up[off + i];
        }
    }
}
