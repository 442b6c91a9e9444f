package org.prunelab.tensor;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.NativeBLAS;


/**
 * sgemm through {@code dev.ludovic.netlib} (native OpenBLAS if present). BLAS is column-major; a row-major
 * matrix with row stride ld is the same memory as its transpose in column-major with leading dimension ld.
 * So row-major {@code C = op(A) op(B)} is computed as column-major {@code C^T = op(B)^T op(A)^T}: swap the
 * operands and m with n, keep the transpose flags. No data is copied.
 *
 * <p>Threading ({@link Gemm.BlasThreading}). Default, {@code OPENBLAS}: a large product called from outside
 * prunelab's worker pool runs as one call on OpenBLAS's own threads ({@link OpenBlasThreads} raises OpenBLAS's count
 * around it and back to 1 after); products from pool workers (attention's heads) stay single-threaded so they never
 * queue on OpenBLAS's level-3 lock. The alternative, {@code SPLIT} ({@code -Dprunelab.blas.threading=split}, and what
 * runs where the BLAS is not OpenBLAS): a large product is cut into row blocks, one single-threaded BLAS call per
 * {@link Parallel} thread. Either way {@code OPENBLAS_THREAD_TIMEOUT} is set to its minimum (4) unless the user set
 * it, so OpenBLAS's idle workers sleep instead of spinning ~0.1 s into the Java work that follows.
 * Measured with {@code ForwardBench 512 9 2 compare-threading} (SmolLM2-135M's shape, passes alternating between the
 * modes): idle machine OPENBLAS 551.9 / 554.3 tokens/s vs SPLIT 537.9 / 560.4 (a wash); next to two CPU-bound
 * nice-19 processes OPENBLAS 283.6 / 302.6 vs SPLIT 552.0 / 586.3 (OPENBLAS's sleeping workers wake late). Against
 * transformers + torch ({@code bench forward --vs-torch}, runs back to back, load 0.45-1.6 from the runs themselves)
 * OPENBLAS read 1.16x, 1.04x and 1.16x,
 * SPLIT 0.96x and 0.99x, so OPENBLAS stays the default; on a machine with CPU-bound neighbours use SPLIT.
 */
final class BlasGemm extends Gemm {
    private static final class Holder {
        static {
            // All three must precede the first load of libblas, where OpenBLAS reads its environment.
            OpenBlasCoreType.applyIfUnset();
            OpenBlasCoreType.setIfUnset("OPENBLAS_NUM_THREADS", "1");
            OpenBlasCoreType.setIfUnset("OPENBLAS_THREAD_TIMEOUT", "4");
        }

        static final BlasGemm PARALLEL = new BlasGemm(BLAS.getInstance(), true);
        static final BlasGemm SERIAL = new BlasGemm(PARALLEL.blas, false);
        static final boolean NATIVE = detectNative();

        private static boolean detectNative() {
            try {
                return NativeBLAS.getInstance() != null;
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }
    }

    /** Below this many multiply-adds a product is one call; splitting would cost more than it saves. */
    private static final long PARALLEL_WORK = 1L << 20;

    private final BLAS blas;
    private final boolean parallel;

    private BlasGemm(BLAS blas, boolean parallel) {
        this.blas = blas;
        this.parallel = parallel;
    }

    static BlasGemm instance() {
        return Holder.PARALLEL;
    }

    static BlasGemm serial() {
        return Holder.SERIAL;
    }

    static boolean isNative() {
        return Holder.NATIVE;
    }

    /** The netlib BLAS behind this instance, for the double-precision kernels of {@link Gram}. */
    dev.ludovic.netlib.blas.BLAS blas() { return blas; }

    @Override
    public Gemm singleThreaded() { return Holder.SERIAL; }

    @Override
    public Backend backend() { return Backend.BLAS; }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        checkArgs(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0) {
            scaleC(m, n, beta, c, cOff, ldc);
            return;
        }
        int threads = Parallel.threads();
        boolean large = (long) m * n * k >= PARALLEL_WORK;
        if (parallel && threads > 1 && large && Gemm.blasThreading() == Gemm.BlasThreading.OPENBLAS
                && OpenBlasThreads.available() && !Parallel.inWorker()) {
            OpenBlasThreads.set(threads);
            try {
                call(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
            } finally {
                OpenBlasThreads.set(1);
            }
        } else if (!parallel || threads == 1 || !large) {
            call(transA, transB, m, n, k, alpha, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        } else if (m >= 16 * threads) {
            // Row block [from, to) of C needs rows [from, to) of op(A): a row offset, or a column offset if A is transposed.
            Parallel.forRange(m, 16, (from, to) -> call(transA, transB, to - from, n, k, alpha,
                    a, aOff + (transA ? from : from * lda), lda, b, bOff, ldb, beta, c, cOff + from * ldc, ldc));
        } else {
            Parallel.forRange(n, 64, (from, to) -> call(transA, transB, m, to - from, k, alpha,
                    a, aOff, lda, b, bOff + (transB ? from * ldb : from), ldb, beta, c, cOff + from, ldc));
        }
    }

    private void call(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, int lda,
                      float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        blas.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k,
                alpha, b, bOff, ldb, a, aOff, lda, beta, c, cOff, ldc);
    }

    @Override
    public String toString() {
        return "BlasGemm[" + blas.getClass().getSimpleName() + "]";
    }
}
