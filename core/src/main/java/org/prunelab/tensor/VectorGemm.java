package org.prunelab.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A blocked FMA kernel on the JDK Vector API, used when native BLAS is absent or forced.
 *
 * <p>Two inner kernels cover every case. When B is transposed (the linear-layer form {@code X W^T} and
 * attention's {@code Q K^T}) both operands run along k in memory, so each C element is a dot product;
 * a 4x4 tile of C keeps 16 vector accumulators and reuses each loaded vector four times. When B is not
 * transposed ({@code P V}) rows of B are contiguous along n, so a 4-row by one-vector tile of C is updated
 * with broadcast-times-row FMAs. A transposed A is packed once into a temporary {@code [m, k]} copy.
 * The parallel instance splits the larger of m and n across {@link Parallel}'s threads.
 */
final class VectorGemm extends Gemm {
    static final VectorGemm PARALLEL = new VectorGemm(true);
    static final VectorGemm SERIAL = new VectorGemm(false);

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    /** Below this many multiply-adds a product runs on one thread; forking would cost more than it saves. */
    private static final long PARALLEL_WORK = 1L << 15;

    private final boolean parallel;

    private VectorGemm(boolean parallel) {
        this.parallel = parallel;
    }

    @Override
    public Gemm singleThreaded() { return SERIAL; }

    @Override
    public Backend backend() { return Backend.VECTOR; }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        checkArgs(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            scaleC(m, n, beta, c, cOff, ldc);
            return;
        }
        if (transA) {
            a = packTransposed(a, aOff, lda, k, m);
            aOff = 0;
            lda = k;
        }
        float[] aa = a;
        int ao = aOff;
        int la = lda;
        Parallel.RangeBody rows = transB
                ? (from, to) -> dotKernel(from, to, 0, n, k, alpha, aa, ao, la, b, bOff, ldb, beta, c, cOff, ldc)
                : (from, to) -> axpyKernel(from, to, 0, n, k, alpha, aa, ao, la, b, bOff, ldb, beta, c, cOff, ldc);
        Parallel.RangeBody cols = transB
                ? (from, to) -> dotKernel(0, m, from, to, k, alpha, aa, ao, la, b, bOff, ldb, beta, c, cOff, ldc)
                : (from, to) -> axpyKernel(0, m, from, to, k, alpha, aa, ao, la, b, bOff, ldb, beta, c, cOff, ldc);
        long work = (long) m * n * k;
        if (!parallel || work < PARALLEL_WORK || Parallel.threads() == 1) {
            rows.run(0, m);
        } else if (m >= 4 * Parallel.threads()) {
            Parallel.forRange(m, 4, rows);
        } else {
            // Few rows (decode, one token): split the columns, in whole vectors for the axpy kernel.
            Parallel.forRange(n, 4 * V, cols);
        }
    }

    private static float[] packTransposed(float[] a, int aOff, int lda, int rows, int cols) {
        float[] t = new float[cols * rows];
        for (int r = 0; r < rows; r++) {
            for (int col = 0; col < cols; col++) t[col * rows + r] = a[aOff + r * lda + col];
        }
        return t;
    }

    private static void store(float[] c, int idx, float alpha, float beta, float sum) {
        c[idx] = beta == 0f ? alpha * sum : alpha * sum + beta * c[idx];
    }

    /** C[i, j] = alpha * dot(A row i, B row j) + beta * C[i, j] for i in [i0, i1), j in [j0, j1). */
    private static void dotKernel(int i0, int i1, int j0, int j1, int k, float alpha, float[] a, int aOff, int lda,
                                  float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        int kv = S.loopBound(k);
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
            int a0 = aOff + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
            int j = j0;
            for (; j + 4 <= j1; j += 4) {
                int b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
                FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
                FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
                FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
                FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
                for (int p = 0; p < kv; p += V) {
                    FloatVector w0 = FloatVector.fromArray(S, b, b0 + p);
                    FloatVector w1 = FloatVector.fromArray(S, b, b1 + p);
                    FloatVector w2 = FloatVector.fromArray(S, b, b2 + p);
                    FloatVector w3 = FloatVector.fromArray(S, b, b3 + p);
                    FloatVector x = FloatVector.fromArray(S, a, a0 + p);
                    c00 = x.fma(w0, c00); c01 = x.fma(w1, c01); c02 = x.fma(w2, c02); c03 = x.fma(w3, c03);
                    x = FloatVector.fromArray(S, a, a1 + p);
                    c10 = x.fma(w0, c10); c11 = x.fma(w1, c11); c12 = x.fma(w2, c12); c13 = x.fma(w3, c13);
                    x = FloatVector.fromArray(S, a, a2 + p);
                    c20 = x.fma(w0, c20); c21 = x.fma(w1, c21); c22 = x.fma(w2, c22); c23 = x.fma(w3, c23);
                    x = FloatVector.fromArray(S, a, a3 + p);
                    c30 = x.fma(w0, c30); c31 = x.fma(w1, c31); c32 = x.fma(w2, c32); c33 = x.fma(w3, c33);
                }
                int r0 = cOff + i * ldc + j, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc;
                finish(c, r0, alpha, beta, c00, a, a0, b, b0, kv, k);
                finish(c, r0 + 1, alpha, beta, c01, a, a0, b, b1, kv, k);
                finish(c, r0 + 2, alpha, beta, c02, a, a0, b, b2, kv, k);
                finish(c, r0 + 3, alpha, beta, c03, a, a0, b, b3, kv, k);
                finish(c, r1, alpha, beta, c10, a, a1, b, b0, kv, k);
                finish(c, r1 + 1, alpha, beta, c11, a, a1, b, b1, kv, k);
                finish(c, r1 + 2, alpha, beta, c12, a, a1, b, b2, kv, k);
                finish(c, r1 + 3, alpha, beta, c13, a, a1, b, b3, kv, k);
                finish(c, r2, alpha, beta, c20, a, a2, b, b0, kv, k);
                finish(c, r2 + 1, alpha, beta, c21, a, a2, b, b1, kv, k);
                finish(c, r2 + 2, alpha, beta, c22, a, a2, b, b2, kv, k);
                finish(c, r2 + 3, alpha, beta, c23, a, a2, b, b3, kv, k);
                finish(c, r3, alpha, beta, c30, a, a3, b, b0, kv, k);
                finish(c, r3 + 1, alpha, beta, c31, a, a3, b, b1, kv, k);
                finish(c, r3 + 2, alpha, beta, c32, a, a3, b, b2, kv, k);
                finish(c, r3 + 3, alpha, beta, c33, a, a3, b, b3, kv, k);
            }
            for (; j < j1; j++) {
                for (int r = 0; r < 4; r++) {
                    store(c, cOff + (i + r) * ldc + j, alpha, beta, dot(a, a0 + r * lda, b, bOff + j * ldb, k));
                }
            }
        }
        for (; i < i1; i++) {
            int a0 = aOff + i * lda;
            int j = j0;
            for (; j + 4 <= j1; j += 4) {
                int b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
                FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
                for (int p = 0; p < kv; p += V) {
                    FloatVector x = FloatVector.fromArray(S, a, a0 + p);
                    c0 = x.fma(FloatVector.fromArray(S, b, b0 + p), c0);
                    c1 = x.fma(FloatVector.fromArray(S, b, b1 + p), c1);
                    c2 = x.fma(FloatVector.fromArray(S, b, b2 + p), c2);
                    c3 = x.fma(FloatVector.fromArray(S, b, b3 + p), c3);
                }
                int row = cOff + i * ldc + j;
                finish(c, row, alpha, beta, c0, a, a0, b, b0, kv, k);
                finish(c, row + 1, alpha, beta, c1, a, a0, b, b1, kv, k);
                finish(c, row + 2, alpha, beta, c2, a, a0, b, b2, kv, k);
                finish(c, row + 3, alpha, beta, c3, a, a0, b, b3, kv, k);
            }
            for (; j < j1; j++) store(c, cOff + i * ldc + j, alpha, beta, dot(a, a0, b, bOff + j * ldb, k));
        }
    }

    /** Reduces a dot-product accumulator, adds the scalar tail past the last whole vector, and stores it. */
    private static void finish(float[] c, int idx, float alpha, float beta, FloatVector acc,
                               float[] a, int aAt, float[] b, int bAt, int kv, int k) {
        float s = VectorMath.sumLanes(acc);
        for (int p = kv; p < k; p++) s += a[aAt + p] * b[bAt + p];
        store(c, idx, alpha, beta, s);
    }

    private static float dot(float[] x, int xOff, float[] y, int yOff, int k) {
        int kv = S.loopBound(k);
        FloatVector acc = FloatVector.zero(S);
        for (int p = 0; p < kv; p += V) {
            acc = FloatVector.fromArray(S, x, xOff + p).fma(FloatVector.fromArray(S, y, yOff + p), acc);
        }
        float s = VectorMath.sumLanes(acc);
        for (int p = kv; p < k; p++) s += x[xOff + p] * y[yOff + p];
        return s;
    }

    /** C[i, j] = alpha * sum_p A[i, p] B[p, j] + beta * C[i, j], vectorised along j. */
    private static void axpyKernel(int i0, int i1, int j0, int j1, int k, float alpha, float[] a, int aOff, int lda,
                                   float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        int jv = j0 + S.loopBound(j1 - j0);
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
            int a0 = aOff + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
            for (int j = j0; j < jv; j += V) {
                FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
                for (int p = 0; p < k; p++) {
                    FloatVector w = FloatVector.fromArray(S, b, bOff + p * ldb + j);
                    c0 = w.fma(FloatVector.broadcast(S, a[a0 + p]), c0);
                    c1 = w.fma(FloatVector.broadcast(S, a[a1 + p]), c1);
                    c2 = w.fma(FloatVector.broadcast(S, a[a2 + p]), c2);
                    c3 = w.fma(FloatVector.broadcast(S, a[a3 + p]), c3);
                }
                int at = cOff + i * ldc + j;
                storeVector(c, at, alpha, beta, c0);
                storeVector(c, at + ldc, alpha, beta, c1);
                storeVector(c, at + 2 * ldc, alpha, beta, c2);
                storeVector(c, at + 3 * ldc, alpha, beta, c3);
            }
            for (int r = 0; r < 4; r++) axpyTail(i + r, jv, j1, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        }
        for (; i < i1; i++) {
            int a0 = aOff + i * lda;
            for (int j = j0; j < jv; j += V) {
                FloatVector c0 = FloatVector.zero(S);
                for (int p = 0; p < k; p++) c0 = FloatVector.fromArray(S, b, bOff + p * ldb + j).fma(FloatVector.broadcast(S, a[a0 + p]), c0);
                storeVector(c, cOff + i * ldc + j, alpha, beta, c0);
            }
            axpyTail(i, jv, j1, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        }
    }

    private static void storeVector(float[] c, int at, float alpha, float beta, FloatVector acc) {
        FloatVector v = alpha == 1f ? acc : acc.mul(alpha);
        if (beta != 0f) v = FloatVector.fromArray(S, c, at).mul(beta).add(v);
        v.intoArray(c, at);
    }

    private static void axpyTail(int i, int j0, int j1, int k, float alpha, float[] a, int aOff, int lda,
                                 float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        for (int j = j0; j < j1; j++) {
            float s = 0f;
            for (int p = 0; p < k; p++) s += a[aOff + i * lda + p] * b[bOff + p * ldb + j];
            store(c, cOff + i * ldc + j, alpha, beta, s);
        }
    }
}
