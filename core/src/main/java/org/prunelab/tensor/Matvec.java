package org.prunelab.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The batch-1 linear-layer product {@code y = W x} (one input row, decode) on the JDK Vector API, and the same over
 * several matrices that read one input (a block's q/k/v, its gate/up) as one parallel loop.
 *
 * <p>A matvec streams every weight once and does one FMA per weight, so it runs at the speed the weights arrive from
 * memory: SmolLM2-135M's 538 MB per token leave the caches far behind. The kernel therefore aims only at keeping the
 * loads flowing: rows are taken in memory order and {@link #ROWS} at a time (one x vector loaded per column step
 * feeds all of them), with independent accumulators so no FMA waits on the one before. The threads of
 * {@link Parallel} split the output rows into contiguous ranges, so each streams its own part of W front to back.
 *
 * <p>Weights are {@code [out, in]} row-major (Hugging Face layout). Each output element is a dot product summed in a
 * fixed order, independent of the thread count and of the JIT (lane sums through {@link VectorMath#sumLanes}).
 */
public final class Matvec {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    /** Output rows one thread takes at a time; 4 keep the 4 accumulators' FMAs independent. */
    static final int ROWS = 4;
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
     * {@code ys[i] = W_i x} for matrices that share their input width, as one parallel loop over all their output rows
     * together (one loop start instead of one per matrix, and the threads' shares balance across the matrices).
     *
     * @param ws matrices {@code [out_i, in]}, all with the same {@code in}
     * @param x  {@code [in]}
     * @param ys {@code ys[i]} holds at least {@code out_i} floats; overwritten
     * @throws IllegalArgumentException if the widths differ or the counts of ws and ys differ
     */
    public static void multiplyAll(FloatMatrix[] ws, float[] x, float[][] ys) {
        if (ws.length != ys.length) throw new IllegalArgumentException(ws.length + " matrices but " + ys.length + " outputs");
        int in = ws[0].cols();
        int[] start = new int[ws.length + 1];
        for (int i = 0; i < ws.length; i++) {
            if (ws[i].cols() != in) {
                throw new IllegalArgumentException("matrix " + i + " has " + ws[i].cols() + " columns, matrix 0 has " + in);
            }
            start[i + 1] = start[i] + ws[i].rows();
        }
        Parallel.RangeBody body = (from, to) -> {
            for (int i = 0; i < ws.length; i++) {
                int a = Math.max(from, start[i]) - start[i], b = Math.min(to, start[i + 1]) - start[i];
                if (a < b) rows(ws[i].data(), in, a, b, x, 0, ys[i], 0);
            }
        };
        if ((long) start[ws.length] * in < PARALLEL_WEIGHTS) {
            body.run(0, start[ws.length]);
        } else {
            Parallel.forRange(start[ws.length], MIN_ROWS, body);
        }
    }

    /**
     * Rows [r0, r1) of {@code y = W x} on the calling thread: {@code y[yOff + r] = dot(w[r * in ..], x[xOff ..])}.
     *
     * @param w row-major {@code [out, in]}
     */
    public static void rows(float[] w, int in, int r0, int r1, float[] x, int xOff, float[] y, int yOff) {
        int kv = S.loopBound(in);
        int r = r0;
        for (; r + ROWS <= r1; r += ROWS) {
            int b0 = r * in, b1 = b0 + in, b2 = b1 + in, b3 = b2 + in;
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
            for (int p = 0; p < kv; p += V) {
                FloatVector xv = FloatVector.fromArray(S, x, xOff + p);
                c0 = xv.fma(FloatVector.fromArray(S, w, b0 + p), c0);
                c1 = xv.fma(FloatVector.fromArray(S, w, b1 + p), c1);
                c2 = xv.fma(FloatVector.fromArray(S, w, b2 + p), c2);
                c3 = xv.fma(FloatVector.fromArray(S, w, b3 + p), c3);
            }
            y[yOff + r] = finish(c0, w, b0, x, xOff, kv, in);
            y[yOff + r + 1] = finish(c1, w, b1, x, xOff, kv, in);
            y[yOff + r + 2] = finish(c2, w, b2, x, xOff, kv, in);
            y[yOff + r + 3] = finish(c3, w, b3, x, xOff, kv, in);
        }
        for (; r < r1; r++) {
            int b = r * in;
            FloatVector c = FloatVector.zero(S);
            for (int p = 0; p < kv; p += V) c = FloatVector.fromArray(S, x, xOff + p).fma(FloatVector.fromArray(S, w, b + p), c);
            y[yOff + r] = finish(c, w, b, x, xOff, kv, in);
        }
    }

    private static float finish(FloatVector acc, float[] w, int b, float[] x, int xOff, int kv, int in) {
        float s = VectorMath.sumLanes(acc);
        for (int p = kv; p < in; p++) s += x[xOff + p] * w[b + p];
        return s;
    }
}
