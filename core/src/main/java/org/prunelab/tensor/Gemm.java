package org.prunelab.tensor;

import org.prunelab.PrunelabException;

/**
 * Single-precision matrix product on row-major arrays, BLAS {@code sgemm} semantics:
 * {@code C = alpha * op(A) * op(B) + beta * C}, where {@code op(X)} is X or its transpose, op(A) is
 * {@code [m, k]}, op(B) is {@code [k, n]} and C is {@code [m, n]}. Every matrix is addressed by an array, an
 * offset and a leading dimension (row stride, in elements), so a head's slice of a wider activation can be
 * used in place without copying. With {@code beta == 0} C is overwritten and its old contents never read.
 *
 * <p>Three backends, tested against each other:
 * <ul>
 *   <li>{@link Backend#BLAS}: {@code dev.ludovic.netlib} sgemm — native OpenBLAS when the system has
 *       {@code libblas.so.3}, otherwise netlib's own Java implementation.</li>
 *   <li>{@link Backend#VECTOR}: a blocked FMA kernel on the JDK Vector API, threaded by {@link Parallel}.</li>
 *   <li>{@link Backend#SCALAR}: plain loops with double accumulation; the reference for tests.</li>
 * </ul>
 * The backend dense layers use is {@link #active()}: native BLAS when available, else the Vector API kernel.
 * The system property {@code prunelab.gemm} ({@code blas}, {@code vector} or {@code scalar}) or
 * {@link #setActive(Backend)} forces one; that choice is the only mutable static state here.
 */
public abstract sealed class Gemm permits ScalarGemm, VectorGemm, BlasGemm {

    /** The available implementations. */
    public enum Backend { SCALAR, VECTOR, BLAS }

    private static volatile Gemm active = initialActive();

    /**
     * How the BLAS backend spreads one large product over {@link Parallel#threads()} cores: {@code OPENBLAS}
     * hands it to OpenBLAS's own threads (where the loaded BLAS is OpenBLAS; otherwise it acts as SPLIT),
     * {@code SPLIT} cuts it into row blocks, one single-threaded BLAS call per prunelab thread. The results
     * are the same up to float rounding order; only speed differs (see {@code BlasGemm}). OPENBLAS is the default.
     */
    public enum BlasThreading { OPENBLAS, SPLIT }

    private static volatile BlasThreading blasThreading = initialBlasThreading();

    /** Which backend this is. */
    public abstract Backend backend();

    /**
     * {@code C = alpha * op(A) * op(B) + beta * C} on row-major arrays.
     *
     * @param transA use A transposed: A is stored {@code [k, m]} instead of {@code [m, k]}
     * @param transB use B transposed: B is stored {@code [n, k]} instead of {@code [k, n]}
     * @param lda    row stride of A as stored (at least its column count)
     * @param ldb    row stride of B as stored
     * @param ldc    row stride of C (at least n)
     * @throws IllegalArgumentException if a dimension is negative, a stride too small, or an array too short
     */
    public abstract void sgemm(boolean transA, boolean transB, int m, int n, int k,
                               float alpha, float[] a, int aOff, int lda,
                               float[] b, int bOff, int ldb,
                               float beta, float[] c, int cOff, int ldc);

    /**
     * The linear-layer product {@code Y = X W^T}: X is {@code [tokens, in]}, W is {@code [out, in]}
     * (Hugging Face layout), Y is {@code [tokens, out]} and is overwritten.
     */
    public final void linear(float[] x, int tokens, FloatMatrix w, float[] y) {
        sgemm(false, true, tokens, w.rows(), w.cols(), 1f, x, 0, w.cols(), w.data(), 0, w.cols(), 0f, y, 0, w.rows());
    }

    /** The backend dense layers currently use. */
    public static Gemm active() {
        return active;
    }

    /** Makes {@code backend} the one dense layers use (for tests and benchmarks). */
    public static void setActive(Backend backend) {
        active = of(backend);
    }

    /** An instance of the given backend. */
    public static Gemm of(Backend backend) {
        return switch (backend) {
            case SCALAR -> ScalarGemm.INSTANCE;
            case VECTOR -> VectorGemm.PARALLEL;
            case BLAS -> BlasGemm.instance();
        };
    }

    /**
     * This backend running each product on the calling thread only, for callers that parallelise around
     * it (attention runs heads in parallel).
     */
    public abstract Gemm singleThreaded();

    /** The current {@link BlasThreading}; set by the system property {@code prunelab.blas.threading} or {@link #setBlasThreading}. */
    public static BlasThreading blasThreading() {
        return blasThreading;
    }

    /** Chooses how the BLAS backend threads a large product (for benchmarks comparing the two). */
    public static void setBlasThreading(BlasThreading threading) {
        blasThreading = java.util.Objects.requireNonNull(threading);
    }

    private static BlasThreading initialBlasThreading() {
        String prop = System.getProperty("prunelab.blas.threading", "openblas").trim().toLowerCase(java.util.Locale.ROOT);
        return switch (prop) {
            case "openblas" -> BlasThreading.OPENBLAS;
            case "split" -> BlasThreading.SPLIT;
            default -> throw new PrunelabException.InvalidArgument("unknown -Dprunelab.blas.threading=" + prop
                    + "; use openblas or split");
        };
    }

    /** Whether netlib found a native BLAS (OpenBLAS) on this machine. */
    public static boolean nativeBlasAvailable() {
        return BlasGemm.isNative();
    }

    private static Gemm initialActive() {
        String prop = System.getProperty("prunelab.gemm");
        if (prop == null || prop.isBlank() || prop.equalsIgnoreCase("auto")) {
            return nativeBlasAvailable() ? BlasGemm.instance() : VectorGemm.PARALLEL;
        }
        return switch (prop.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "blas" -> BlasGemm.instance();
            case "vector" -> VectorGemm.PARALLEL;
            case "scalar" -> ScalarGemm.INSTANCE;
            default -> throw new PrunelabException.InvalidArgument("unknown -Dprunelab.gemm=" + prop
                    + "; use blas, vector, scalar or auto");
        };
    }

    /** Checks that every element the product touches lies inside its array. */
    static void checkArgs(boolean transA, boolean transB, int m, int n, int k,
                          float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("negative gemm dimension m=" + m + " n=" + n + " k=" + k);
        }
        checkMatrix("A", a, aOff, lda, transA ? k : m, transA ? m : k);
        checkMatrix("B", b, bOff, ldb, transB ? n : k, transB ? k : n);
        checkMatrix("C", c, cOff, ldc, m, n);
    }

    private static void checkMatrix(String name, float[] x, int off, int ld, int rows, int cols) {
        if (ld < Math.max(1, cols)) {
            throw new IllegalArgumentException("leading dimension of " + name + " is " + ld + " but it has " + cols + " columns");
        }
        if (rows == 0 || cols == 0) return;
        long last = off + (long) (rows - 1) * ld + cols;
        if (off < 0 || last > x.length) {
            throw new IllegalArgumentException(name + " [" + rows + ", " + cols + "] at offset " + off + " stride " + ld
                    + " needs " + last + " elements but the array has " + x.length);
        }
    }

    /** C *= beta over [m, n] (C = 0 when beta is 0, ignoring old contents). */
    static void scaleC(int m, int n, float beta, float[] c, int cOff, int ldc) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            int row = cOff + i * ldc;
            for (int j = 0; j < n; j++) c[row + j] = beta == 0f ? 0f : beta * c[row + j];
        }
    }
}
