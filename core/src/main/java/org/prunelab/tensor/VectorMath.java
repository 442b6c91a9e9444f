package org.prunelab.tensor;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise and row-reduction kernels of the forward pass on the JDK Vector API. All methods work on a slice
 * {@code [off, off + n)} of an array and are single-threaded; callers parallelise over rows.
 *
 * <p>Every result is the same whether the JIT has compiled the code yet or not, so two runs of the same input
 * agree bit for bit. Two Vector API operations do not promise that and are avoided: {@code reduceLanes(ADD)}
 * (its order is open, and the interpreted and compiled forms differ) and the {@code EXP} operator (compiled to a
 * short-vector math library, interpreted as {@link Math#exp} per lane: they differ in the last bit). Sums go
 * through {@link #sumLanes} and exponentials through {@link #exp}, built from lane-wise IEEE operations only.
 * A scalar {@link Math#exp} per element would cost more than the attention products themselves at seqlen 512.
 */
public final class VectorMath {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();

    // e^x = 2^n e^r with n = round(x / ln 2) and r = x - n ln 2 split in two parts (Cody-Waite) so r is exact
    // enough; e^r on [-ln2/2, ln2/2] by the degree-6 polynomial of Cephes' expf (about 1 ulp).
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f; // 1.5 * 2^23: x + ROUND - ROUND rounds x to the nearest integer
    private static final float EXP_LOW = -87.33654f; // e^x is below the smallest normal float under this
    private static final float EXP_HIGH = 88.72283f; // the largest x whose e^x is a finite float
    private static final float EXP_OVERFLOW = 88.72284f; // e^x is above the largest float over this
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final FloatVector MINUS_LN2_HI = FloatVector.broadcast(S, -LN2_HI), MINUS_LN2_LO = FloatVector.broadcast(S, -LN2_LO);
    private static final FloatVector P5 = FloatVector.broadcast(S, 1.9875691500e-4f), P4 = FloatVector.broadcast(S, 1.3981999507e-3f),
            P3 = FloatVector.broadcast(S, 8.3334519073e-3f), P2 = FloatVector.broadcast(S, 4.1665795894e-2f),
            P1 = FloatVector.broadcast(S, 1.6666665459e-1f), P0 = FloatVector.broadcast(S, 5.0000001201e-1f);

    // Lane i pairs with lane i ^ step; adding v to its permutation at steps V/2, ..., 1 leaves the total in lane 0.
    private static final VectorShuffle<Float> FOLD_8 = fold(8), FOLD_4 = fold(4), FOLD_2 = fold(2), FOLD_1 = fold(1);

    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final int DV = D.length();
    private static final VectorShuffle<Double> DFOLD_4 = VectorShuffle.fromOp(D, i -> (i ^ 4) % DV),
            DFOLD_2 = VectorShuffle.fromOp(D, i -> (i ^ 2) % DV), DFOLD_1 = VectorShuffle.fromOp(D, i -> (i ^ 1) % DV);

    private VectorMath() {}

    private static VectorShuffle<Float> fold(int step) {
        return VectorShuffle.fromOp(S, i -> (i ^ step) % V);
    }

    /**
     * e^x lane by lane within 2 ulp of {@link Math#exp} (tested): 0 below -87.34 (where e^x is subnormal), +Infinity above 88.72, NaN for NaN.
     * Deterministic (see the class comment), unlike the {@code EXP} operator.
     */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_LOW).min(EXP_HIGH);
        FloatVector shifted = xc.fma(LOG2E, ROUND);             // ROUND + n: n sits in the low mantissa bits
        FloatVector n = shifted.sub(ROUND);
        IntVector ni = shifted.reinterpretAsInts().sub(ROUND_BITS);
        FloatVector r = n.fma(MINUS_LN2_HI, xc);
        r = n.fma(MINUS_LN2_LO, r);
        FloatVector p = r.fma(P5, P4).fma(r, P3).fma(r, P2).fma(r, P1).fma(r, P0);
        FloatVector e = p.fma(r.mul(r), r.add(1f));
        // 2^n as two factors 2^h 2^(n-h), h = n >> 1: each stays a normal float for n in [-126, 128].
        IntVector h = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector twoH = h.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector twoRest = ni.sub(h).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector out = e.mul(twoH).mul(twoRest);
        return out.blend(0f, x.lt(EXP_LOW)).blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_OVERFLOW));
    }

    /**
     * Sum of v's lanes in one fixed order, like {@link #sumLanes(FloatVector)}.
     *
     * @param v a vector of {@link DoubleVector#SPECIES_PREFERRED}
     */
    public static double sumLanes(DoubleVector v) {
        if (DV > 4) v = v.add(v.rearrange(DFOLD_4));
        if (DV > 2) v = v.add(v.rearrange(DFOLD_2));
        if (DV > 1) v = v.add(v.rearrange(DFOLD_1));
        return v.lane(0);
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
        float sum = expShiftedInPlace(x, off, n, m);
        scale(x, off, n, 1f / sum);
    }

    /** Replaces x[off, off + n) by {@code exp(x - shift)} and returns the sum of the results (softmax's numerators). */
    public static float expShiftedInPlace(float[] x, int off, int n, float shift) {
        int i = 0;
        FloatVector sumV = FloatVector.zero(S);
        for (; i + V <= n; i += V) {
            FloatVector e = exp(FloatVector.fromArray(S, x, off + i).sub(shift));
            e.intoArray(x, off + i);
            sumV = sumV.add(e);
        }
        float sum = sumLanes(sumV);
        for (; i < n; i++) {
            float e = (float) Math.exp(x[off + i] - shift);
            x[off + i] = e;
            sum += e;
        }
        return sum;
    }

    /** log(sum_i exp(x_i)) over x[off, off + n), stable (max subtracted) and summed in double per vector. */
    public static double logSumExp(float[] x, int off, int n) {
        float m = max(x, off, n);
        int i = 0;
        double sum = 0;
        for (; i + V <= n; i += V) {
            sum += sumLanes(exp(FloatVector.fromArray(S, x, off + i).sub(m)));
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

    /** acc[accOff, accOff + n) += s * x[xOff, xOff + n). */
    public static void addScaled(float[] acc, int accOff, float[] x, int xOff, int n, float s) {
        int i = 0;
        for (; i + V <= n; i += V) {
            FloatVector.fromArray(S, x, xOff + i).fma(FloatVector.broadcast(S, s), FloatVector.fromArray(S, acc, accOff + i))
                    .intoArray(acc, accOff + i);
        }
        for (; i < n; i++) acc[accOff + i] += s * x[xOff + i];
    }

    /** acc[off, off + n) += x[off, off + n). */
    public static void addInPlace(float[] acc, float[] x, int off, int n) {
        int i = 0;
        for (; i + V <= n; i += V) {
            FloatVector.fromArray(S, acc, off + i).add(FloatVector.fromArray(S, x, off + i)).intoArray(acc, off + i);
        }
        for (; i < n; i++) acc[off + i] += x[off + i];
    }

    /**
     * {@code out[outOff + j] = scale * dot(x[xOff, xOff + d), rows[rowOff + j * stride, ... + d))} for j in [0, n): one
     * query against n cached keys. Each dot product is summed in the order of {@code VectorGemm}'s kernel (one vector
     * accumulator along d, lanes summed by {@link #sumLanes}, then the scalar tail), four rows at a time so one load of
     * x serves four keys.
     */
    public static void dotRows(float[] x, int xOff, float[] rows, int rowOff, int stride, int n, int d, float scale,
                               float[] out, int outOff) {
        int dv = S.loopBound(d);
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            int r0 = rowOff + j * stride, r1 = r0 + stride, r2 = r1 + stride, r3 = r2 + stride;
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
            for (int p = 0; p < dv; p += V) {
                FloatVector xv = FloatVector.fromArray(S, x, xOff + p);
                c0 = xv.fma(FloatVector.fromArray(S, rows, r0 + p), c0);
                c1 = xv.fma(FloatVector.fromArray(S, rows, r1 + p), c1);
                c2 = xv.fma(FloatVector.fromArray(S, rows, r2 + p), c2);
                c3 = xv.fma(FloatVector.fromArray(S, rows, r3 + p), c3);
            }
            out[outOff + j] = scale * dotTail(sumLanes(c0), x, xOff, rows, r0, dv, d);
            out[outOff + j + 1] = scale * dotTail(sumLanes(c1), x, xOff, rows, r1, dv, d);
            out[outOff + j + 2] = scale * dotTail(sumLanes(c2), x, xOff, rows, r2, dv, d);
            out[outOff + j + 3] = scale * dotTail(sumLanes(c3), x, xOff, rows, r3, dv, d);
        }
        for (; j < n; j++) {
            int r = rowOff + j * stride;
            FloatVector c = FloatVector.zero(S);
            for (int p = 0; p < dv; p += V) c = FloatVector.fromArray(S, x, xOff + p).fma(FloatVector.fromArray(S, rows, r + p), c);
            out[outOff + j] = scale * dotTail(sumLanes(c), x, xOff, rows, r, dv, d);
        }
    }

    private static float dotTail(float s, float[] x, int xOff, float[] rows, int r, int from, int d) {
        for (int p = from; p < d; p++) s += x[xOff + p] * rows[r + p];
        return s;
    }

    /**
     * {@code out[outOff + i] = sum_j w[wOff + j] * rows[rowOff + j * stride + i]} for i in [0, d): the attention weights
     * of one query times n cached values. Four partial sums over j per output vector (j mod 4), added at the end, keep
     * four FMAs in flight.
     */
    public static void weightedRowSum(float[] w, int wOff, float[] rows, int rowOff, int stride, int n, int d,
                                      float[] out, int outOff) {
        int dv = S.loopBound(d);
        for (int i = 0; i < dv; i += V) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            int at = rowOff + i;
            int j = 0;
            for (; j + 4 <= n; j += 4, at += 4 * stride) {
                a0 = FloatVector.fromArray(S, rows, at).fma(FloatVector.broadcast(S, w[wOff + j]), a0);
                a1 = FloatVector.fromArray(S, rows, at + stride).fma(FloatVector.broadcast(S, w[wOff + j + 1]), a1);
                a2 = FloatVector.fromArray(S, rows, at + 2 * stride).fma(FloatVector.broadcast(S, w[wOff + j + 2]), a2);
                a3 = FloatVector.fromArray(S, rows, at + 3 * stride).fma(FloatVector.broadcast(S, w[wOff + j + 3]), a3);
            }
            for (; j < n; j++, at += stride) a0 = FloatVector.fromArray(S, rows, at).fma(FloatVector.broadcast(S, w[wOff + j]), a0);
            a0.add(a1).add(a2.add(a3)).intoArray(out, outOff + i);
        }
        for (int i = dv; i < d; i++) {
            float s = 0f;
            for (int j = 0; j < n; j++) s += w[wOff + j] * rows[rowOff + j * stride + i];
            out[outOff + i] = s;
        }
    }

    /**
     * {@link #weightedRowSum} for three weight vectors over the same n rows ({@code w0}, {@code w1}, {@code w2} offsets
     * into w; outputs at {@code o0}, {@code o1}, {@code o2}): each cached row is read once for the three query heads
     * that share it. Where d is not a multiple of four vectors, three {@link #weightedRowSum} calls.
     */
    public static void weightedRowSum3(float[] w, int w0, int w1, int w2, float[] rows, int rowOff, int stride, int n,
                                       int d, float[] out, int o0, int o1, int o2) {
        if (d % (4 * V) != 0) {
            weightedRowSum(w, w0, rows, rowOff, stride, n, d, out, o0);
            weightedRowSum(w, w1, rows, rowOff, stride, n, d, out, o1);
            weightedRowSum(w, w2, rows, rowOff, stride, n, d, out, o2);
            return;
        }
        for (int i = 0; i < d; i += 4 * V) {
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0,
                    c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            int r = rowOff + i;
            for (int j = 0; j < n; j++, r += stride) {
                FloatVector v0 = FloatVector.fromArray(S, rows, r), v1 = FloatVector.fromArray(S, rows, r + V),
                        v2 = FloatVector.fromArray(S, rows, r + 2 * V), v3 = FloatVector.fromArray(S, rows, r + 3 * V);
                FloatVector p = FloatVector.broadcast(S, w[w0 + j]);
                a0 = v0.fma(p, a0); a1 = v1.fma(p, a1); a2 = v2.fma(p, a2); a3 = v3.fma(p, a3);
                p = FloatVector.broadcast(S, w[w1 + j]);
                b0 = v0.fma(p, b0); b1 = v1.fma(p, b1); b2 = v2.fma(p, b2); b3 = v3.fma(p, b3);
                p = FloatVector.broadcast(S, w[w2 + j]);
                c0 = v0.fma(p, c0); c1 = v1.fma(p, c1); c2 = v2.fma(p, c2); c3 = v3.fma(p, c3);
            }
            a0.intoArray(out, o0 + i); a1.intoArray(out, o0 + i + V); a2.intoArray(out, o0 + i + 2 * V); a3.intoArray(out, o0 + i + 3 * V);
            b0.intoArray(out, o1 + i); b1.intoArray(out, o1 + i + V); b2.intoArray(out, o1 + i + 2 * V); b3.intoArray(out, o1 + i + 3 * V);
            c0.intoArray(out, o2 + i); c1.intoArray(out, o2 + i + V); c2.intoArray(out, o2 + i + 2 * V); c3.intoArray(out, o2 + i + 3 * V);
        }
    }

    /**
     * Reads x[off, off + n) front to back, one vector load per 64-byte cache line, and returns a value that depends on
     * every load (store it somewhere, so the JIT keeps them): a prefetch of a strided region's cache lines as one
     * sequential stream. The value means nothing.
     */
    public static float readThrough(float[] x, int off, int n) {
        FloatVector acc = FloatVector.zero(S);
        int step = Math.max(V, 16);
        for (int i = 0; i + V <= n; i += step) acc = acc.add(FloatVector.fromArray(S, x, off + i));
        return acc.lane(0);
    }

    /** Sum of squares of x[off, off + n). */
    public static float sumOfSquares(float[] x, int off, int n) {
        int i = 0;
        FloatVector acc = FloatVector.zero(S);
        for (; i + V <= n; i += V) {
            FloatVector v = FloatVector.fromArray(S, x, off + i);
            acc = v.fma(v, acc);
        }
        float s = sumLanes(acc);
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
            FloatVector denom = exp(g.neg()).add(1f);
            g.div(denom).mul(FloatVector.fromArray(S, up, off + i)).intoArray(gate, off + i);
        }
        for (; i < n; i++) {
            float g = gate[off + i];
            gate[off + i] = (float) (g / (1.0 + Math.exp(-g))) * up[off + i];
        }
    }

    /** sqrt(2 / pi), the tanh-GELU's constant. */
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);

    /**
     * {@code gate[i] = gelu_tanh(gate[i]) * up[i]} for i in [off, off + n), with PyTorch's tanh approximation
     * {@code gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} ({@code torch.nn.functional.gelu(x,
     * approximate="tanh")}, Hendrycks &amp; Gimpel 2016), evaluated in double and rounded to float.
     */
    public static void geluTanhMulInPlace(float[] gate, float[] up, int off, int n) {
        for (int i = off; i < off + n; i++) {
            double x = gate[i];
            double g = 0.5 * x * (1.0 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            gate[i] = (float) g * up[i];
        }
    }
}
