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
     * {@link #upperFactorOfInverse(double[], int)} of {@code H + add I}, where {@code H} is given as a Hessian accumulator
     * ({@code scale * upper[i][j]} for {@code j > i}, upper triangle only) and its diagonal ({@code diag}), without
     * making H: SparseGPT and GPTQ on a 7B model's down_proj (n = 11008 or 18944) hold 1-3 GB per n x n fp64 array, and
     * this needs two (the factor and its inverse, which becomes U in place) where building H, damping a copy,
     * factoring a reversed copy and writing U to a fourth took five. Every value is computed by the same operations in
     * the same order as that path, so U is bit for bit the same.
     */
    static double[] upperFactorOfInverse(double[] upper, double scale, double[] diag, double add, int n) {
        double[] l = new double[n * n];
        for (int i = 0; i < n; i++) {
            int r = n - 1 - i;
            for (int j = 0; j < i; j++) l[i * n + j] = scale * upper[r * n + (n - 1 - j)];
            l[i * n + i] = diag[r] + add;
        }
        if (!lowerInPlace(l, n)) return null;
        double[] x = invertLower(l, n);
        l = null;
        // U = J X J: a half-turn of X, in place (X's strict upper triangle is zero, so U's strict lower one is).
        for (int a = 0, b = n * n - 1; a < b; a++, b--) {
            double t = x[a];
            x[a] = x[b];
            x[b] = t;
        }
        return x;
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
