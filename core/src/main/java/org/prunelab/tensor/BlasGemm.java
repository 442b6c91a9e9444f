package org.prunelab.tensor;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.NativeBLAS;

/**
 * sgemm through {@code dev.ludovic.netlib} (native OpenBLAS if present). BLAS is column-major; a row-major
 * matrix with row stride ld is the same memory as its transpose in column-major with leading dimension ld.
 * So row-major {@code C = op(A) op(B)} is computed as column-major {@code C^T = op(B)^T op(A)^T}: swap the
 * operands and m with n, keep the transpose flags. No data is copied.
 */
final class BlasGemm extends Gemm {
    private static final class Holder {
        static final BlasGemm INSTANCE = new BlasGemm(BLAS.getInstance());
        static final boolean NATIVE = detectNative();

        private static boolean detectNative() {
            try {
                return NativeBLAS.getInstance() != null;
            } catch (RuntimeException | LinkageError e) {
                return false;
            }
        }
    }

    private final BLAS blas;

    private BlasGemm(BLAS blas) {
        this.blas = blas;
    }

    static BlasGemm instance() {
        return Holder.INSTANCE;
    }

    static boolean isNative() {
        return Holder.NATIVE;
    }

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
        blas.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k,
                alpha, b, bOff, ldb, a, aOff, lda, beta, c, cOff, ldc);
    }

    @Override
    public String toString() {
        return "BlasGemm[" + blas.getClass().getSimpleName() + "]";
    }
}
