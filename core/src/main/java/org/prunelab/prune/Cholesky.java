package org.prunelab.prune;

/**
 * Dense double-precision factorisations for SparseGPT, row-major {@code [n, n]} arrays.
 *
 * <p>SparseGPT needs U, the upper Cholesky factor of H^-1 ({@code U^T U = H^-1}). Instead of factor,
 * invert and factor again (as the reference does), we use: if {@code J H J = L L^T} with J the order
 * reversal, then {@code R = J L J} is upper triangular with {@code H = R R^T}, so
 * {@code H^-1 = R^-T R^-1} and, by uniqueness of the Cholesky factor, {@code U = R^-1 = J L^-1 J}.
 * One Cholesky and one triangular inverse: n^3/3 multiply-adds instead of about n^3.
 */
final class Cholesky {
    private Cholesky() {}

    /**
     * U with U^T U = a^-1, upper triangular, or null if {@code a} (symmetric) is not positive definite.
     * {@code a} is not modified.
     */
    static double[] upperFactorOfInverse(double[] a, int n) {
        double[] l = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) l[i * n + j] = a[(n - 1 - i) * n + (n - 1 - j)];
        }
        if (!lowerInPlace(l, n)) return null;
        double[] inv = invertLower(l, n);
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = i; j < n; j++) u[i * n + j] = inv[(n - 1 - i) * n + (n - 1 - j)];
        }
        return u;
    }

    /**
     * Rows handled together: each earlier row is read once per group instead of once per row, which
     * cuts memory traffic by this factor once the matrix no longer fits in cache.
     */
    private static final int GROUP = 8;

    /**
     * Lower Cholesky factor in place (row by row, Cholesky–Banachiewicz, rows in groups); the strict
     * upper triangle is ignored. False if a pivot is not positive (or NaN).
     */
    static boolean lowerInPlace(double[] a, int n) {
        for (int i0 = 0; i0 < n; i0 += GROUP) {
            int i1 = Math.min(i0 + GROUP, n);
            for (int j = 0; j < i0; j++) {
                int rj = j * n;
                for (int i = i0; i < i1; i++) {
                    a[i * n + j] = (a[i * n + j] - VectorOps.dot(a, i * n, a, rj, j)) / a[rj + j];
                }
            }
            for (int i = i0; i < i1; i++) {
                int ri = i * n;
                for (int j = i0; j < i; j++) {
                    a[ri + j] = (a[ri + j] - VectorOps.dot(a, ri, a, j * n, j)) / a[j * n + j];
                }
                double pivot = a[ri + i] - VectorOps.dot(a, ri, a, ri, i);
                if (!(pivot > 0) || Double.isInfinite(pivot)) return false;
                a[ri + i] = Math.sqrt(pivot);
            }
        }
        return true;
    }

    /** The inverse of a lower triangular matrix (strict upper triangle of l ignored), also lower. */
    static double[] invertLower(double[] l, int n) {
        double[] x = new double[n * n];
        // Row i of X = L^-1 solves sum_k L_ik X_k = e_i: X_i = (e_i - sum_{k<i} L_ik X_k) / L_ii.
        for (int i0 = 0; i0 < n; i0 += GROUP) {
            int i1 = Math.min(i0 + GROUP, n);
            for (int k = 0; k < i0; k++) {
                for (int i = i0; i < i1; i++) {
                    double lik = l[i * n + k];
                    if (lik != 0) VectorOps.axpy(-lik, x, k * n, x, i * n, k + 1);
                }
            }
            for (int i = i0; i < i1; i++) {
                int ri = i * n;
                for (int k = i0; k < i; k++) {
                    double lik = l[ri + k];
                    if (lik != 0) VectorOps.axpy(-lik, x, k * n, x, ri, k + 1);
                }
                double d = 1.0 / l[ri + i];
                for (int j = 0; j < i; j++) x[ri + j] *= d;
                x[ri + i] = d;
            }
        }
        return x;
    }
}
