package org.prunelab.bench;

import dev.ludovic.netlib.blas.BLAS;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Matvec;
import org.prunelab.tensor.sparse.SparseLoops;

/**
 * Dense baselines and bandwidth probes for {@link SparseKernelBench}: a plain Vector API dense product
 * (same threading as the sparse kernels), BLAS sgemv/sgemm through netlib, and STREAM-like read and
 * copy loops. Bench-only; the product code uses DenseLinear.
 */
final class BenchKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private BenchKernels() {}

    /** y[t, r] = sum_c w[r, c] x[t, c] with decode's dot product ({@link Matvec#dot}), rows split as the sparse kernels do. */
    static void denseVector(FloatMatrix w, float[] x, int tokens, float[] y) {
        int rows = w.rows();
        int cols = w.cols();
        float[] d = w.data();
        SparseLoops.forRows(rows, (long) rows * cols * tokens, (from, to) -> {
            for (int r = from; r < to; r++) {
                for (int t = 0; t < tokens; t++) y[t * rows + r] = Matvec.dot(d, r * cols, x, t * cols, cols);
            }
        });
    }

    /** The same product through BLAS (row-major W [out, in] is column-major [in, out], hence "T"). */
    static void blas(FloatMatrix w, float[] x, int tokens, float[] y) {
        int rows = w.rows();
        int cols = w.cols();
        if (tokens == 1) {
            BLAS.getInstance().sgemv("T", cols, rows, 1f, w.data(), cols, x, 1, 0f, y, 1);
        } else {
            BLAS.getInstance().sgemm("T", "N", rows, tokens, cols, 1f, w.data(), cols, x, cols, 0f, y, rows);
        }
    }

    /** Which BLAS netlib picked (native OpenBLAS via JNI, or a Java fallback). */
    static String blasName() {
        return BLAS.getInstance().getClass().getSimpleName();
    }

    /** Sums {@code a} with vector loads, split over threads like the kernels: a pure-read stream. */
    static float readAll(float[] a) {
        int chunk = 1 << 16;
        int chunks = (a.length + chunk - 1) / chunk;
        float[] partial = new float[chunks];
        SparseLoops.forRows(chunks, a.length, (from, to) -> {
            for (int c = from; c < to; c++) {
                int lo = c * chunk;
                int hi = Math.min(a.length, lo + chunk);
                FloatVector acc = FloatVector.zero(S);
                int k = lo;
                for (; k + L <= hi; k += L) acc = acc.add(FloatVector.fromArray(S, a, k));
                float s = acc.reduceLanes(VectorOperators.ADD);
                for (; k < hi; k++) s += a[k];
                partial[c] = s;
            }
        });
        float s = 0;
        for (float p : partial) s += p;
        return s;
    }

    /** STREAM copy: dst = src, split over threads like the kernels. */
    static void copy(float[] src, float[] dst) {
        int chunk = 1 << 16;
        int chunks = (src.length + chunk - 1) / chunk;
        SparseLoops.forRows(chunks, src.length, (from, to) -> {
            int lo = from * chunk;
            int hi = Math.min(src.length, to * chunk);
            System.arraycopy(src, lo, dst, lo, hi - lo);
        });
    }
}
