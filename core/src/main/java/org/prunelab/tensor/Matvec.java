package org.prunelab.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The batch-1 linear-layer product {@code y = W x} (one input row, decode) on the JDK Vector API, and one parallel loop
 * over several linears that read one input (a block's q/k/v, its gate/up), whatever their formats ({@link #forwardAll}).
 *
 * <p>A matvec streams every weight once and does one FMA per weight, so it runs at the speed the weights arrive from
 * memory: SmolLM2-135M's 538 MB per token leave the caches far behind. The kernel therefore aims only at keeping the
 * loads flowing: one row at a time in memory order, so each thread reads one sequential stream, with four independent
 * accumulators along the row. Reading four rows at once (one x load feeding four FMAs, as a GEMM tile does) streamed
 * markedly slower on a Zen 4 (SmolLM2's shapes in decode order, {@code MatvecBench}: 6.8 GB/s against 11.1 on one
 * thread, a plain sum of the same bytes reading 11.7). {@link Parallel}'s threads claim contiguous pieces of rows.
 *
 * <p>Weights are {@code [out, in]} row-major (Hugging Face layout). Each output element is a dot product summed in a
 * fixed order, independent of the thread count and of the JIT (lane sums through {@link VectorMath#sumLanes}).
 */
public final class Matvec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    /** Below this many weights a product runs on the calling thread; a loop start would cost more than it saves. */
    private static final long PARALLEL_WEIGHTS = 1L << 15;
    /** Least output rows per thread. */
    private static final int MIN_ROWS = 16;

    private Matvec() {}

    /**
     * {@code y[yOff + r] = dot(W row r, x[xOff .. xOff + in))} for every row r of {@code w}, on {@link Parallel}'s
     * threads.
     *
     * @param w {@code [out, in]}
     * @param x at least {@code xOff + in} floats
     * @param y at least {@code yOff + out} floats; overwritten
     */
    public static void multiply(FloatMatrix w, float[] x, int xOff, float[] y, int yOff) {
        int out = w.rows(), in = w.cols();
        float[] data = w.data();
        if ((long) out * in < PARALLEL_WEIGHTS) {
            rows(data, in, 0, out, x, xOff, y, yOff);
        } else {
            Parallel.forRange(out, MIN_ROWS, (from, to) -> rows(data, in, from, to, x, xOff, y, yOff));
        }
    }

    /**
     * {@code ys[i] = group[i](x)} for one token through linears that read the same input (a block's q/k/v, its gate/up),
     * as one parallel loop over all their output rows: one loop start instead of one per linear, and the threads' shares
     * balance across the group. Each row is computed by {@link Linear.RowSlices#forwardRows}, so the result is bit for
     * bit each linear's own one-token {@code forward}, whatever the thread count.
     *
     * @param group linears {@code [out_i, in]}, all with the same {@code in}; any mix of formats with row slices
     * @param x     {@code [in]}
     * @param ys    {@code ys[i]} holds at least {@code out_i} floats; overwritten
     * @throws IllegalArgumentException if the widths differ or the counts of group and ys differ
     */
    public static void forwardAll(Linear.RowSlices[] group, float[] x, float[][] ys) {
        if (group.length != ys.length) throw new IllegalArgumentException(group.length + " linears but " + ys.length + " outputs");
        int in = group[0].inFeatures();
        int[] start = new int[group.length + 1];
        for (int i = 0; i < group.length; i++) {
            if (group[i].inFeatures() != in) {
                throw new IllegalArgumentException("linear " + i + " has " + group[i].inFeatures() + " in_features, linear 0 has " + in);
            }
            start[i + 1] = start[i] + group[i].outFeatures();
        }
        Parallel.RangeBody body = (from, to) -> {
            for (int i = 0; i < group.length; i++) {
                int a = Math.max(from, start[i]) - start[i], b = Math.min(to, start[i + 1]) - start[i];
                if (a < b) group[i].forwardRows(x, ys[i], a, b);
            }
        };
        if ((long) start[group.length] * in < PARALLEL_WEIGHTS) {
            body.run(0, start[group.length]);
        } else {
            Parallel.forRange(start[group.length], MIN_ROWS, body);
        }
    }

    /**
     * Rows [r0, r1) of {@code y = W x} on the calling thread: {@code y[yOff + r] = dot(w[r * in ..], x[xOff ..])}.
     * One row at a time, front to back, so the weights are read as one sequential stream; four vector accumulators
     * (columns p, p + V, p + 2V, p + 3V) keep four FMAs in flight.
     *
     * @param w row-major {@code [out, in]}
     */
    public static void rows(float[] w, int in, int r0, int r1, float[] x, int xOff, float[] y, int yOff) {
        for (int r = r0; r < r1; r++) y[yOff + r] = dot(w, r * in, x, xOff, in);
    }

    /**
     * dot(w[off, off + n), x[xOff, xOff + n)) summed in a fixed order: four interleaved vector sums, then the tail. The
     * kernel of {@link #rows}; public for the benchmarks' dense baselines.
     */
    public static float dot(float[] w, int off, float[] x, int xOff, int n) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int p = 0;
        for (; p + 4 * V <= n; p += 4 * V) {
            a0 = FloatVector.fromArray(S, x, xOff + p).fma(FloatVector.fromArray(S, w, off + p), a0);
            a1 = FloatVector.fromArray(S, x, xOff + p + V).fma(FloatVector.fromArray(S, w, off + p + V), a1);
            a2 = FloatVector.fromArray(S, x, xOff + p + 2 * V).fma(FloatVector.fromArray(S, w, off + p + 2 * V), a2);
            a3 = FloatVector.fromArray(S, x, xOff + p + 3 * V).fma(FloatVector.fromArray(S, w, off + p + 3 * V), a3);
        }
        for (; p + V <= n; p += V) a0 = FloatVector.fromArray(S, x, xOff + p).fma(FloatVector.fromArray(S, w, off + p), a0);
        float s = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)));
        for (; p < n; p++) s += x[xOff + p] * w[off + p];
        return s;
    }
}
