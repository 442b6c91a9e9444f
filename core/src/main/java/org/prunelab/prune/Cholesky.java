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
     * making H: SparseGPT and GPTQ on a 7B model's down_proj (n = 11008 or 18944) hold 1-3 GB per n x n fp64 array.
     * Every value is computed by the same operations in the same order as building H, damping it, factoring a
     * reversed copy and inverting, so U is bit for bit the same whichever way it is made.
     *
     * <p>Without {@code inPlace}, {@code upper} is only read and two more n x n arrays are allocated (the factor and
     * its inverse, which becomes U). With {@code inPlace} the accumulator itself becomes U and nothing of size n x n
     * is allocated: the reversed factor L is built in the accumulator's lower triangle (L[i][j] is read from the
     * strict upper entry at the mirrored position n²-1-(i n + j), which is never written before it is read), factored
     * and inverted there row by row (a few rows of L kept aside), and only then is the strict upper triangle, the
     * accumulator's, overwritten. A Cholesky that fails leaves the strict upper triangle intact, so a retry with more
     * damping reads the same accumulator. After a successful in-place call the accumulator is gone.
     *
     * @param upper   the accumulator, row-major {@code [n, n]}, upper triangle used; with {@code inPlace}, returned as U
     * @param scale   factor from the accumulator to H (SparseGPT: 2 / tokens)
     * @param diag    H's diagonal (after the dead-input fix), length n
     * @param add     damping added to the diagonal
     * @param inPlace turn {@code upper} into U instead of allocating
     * @return U, upper triangular with zero strict lower triangle, or null if {@code H + add I} is not positive definite
     */
    static double[] upperFactorOfInverse(double[] upper, double scale, double[] diag, double add, int n, boolean inPlace) {
        double[] l = inPlace ? upper : new double[n * n];
        for (int i = 0; i < n; i++) {
            int r = n - 1 - i;
            for (int j = 0; j < i; j++) l[i * n + j] = scale * upper[r * n + (n - 1 - j)];
            l[i * n + i] = diag[r] + add;
        }
        if (!lowerInPlace(l, n)) return null;
        double[] x;
        if (inPlace) {
            invertLowerInPlace(l, n);
            x = l;
            for (int i = 0; i < n; i++) java.util.Arrays.fill(x, i * n + i + 1, (i + 1) * n, 0.0); // the accumulator's rest
        } else {
            x = invertLower(l, n);
        }
        l = null;
        // U = J X J: a half-turn of X, in place (X's strict upper triangle is zero, so U's strict lower one is).
        for (int a = 0, b = n * n - 1; a < b; a++, b--) {
            double t = x[a];
            x[a] = x[b];
            x[b] = t;
        }
        return x;
    }

    /** {@link #upperFactorOfInverse(double[], double, double[], double, int, boolean)} that allocates. */
    static double[] upperFactorOfInverse(double[] upper, double scale, double[] diag, double add, int n) {
        return upperFactorOfInverse(upper, scale, diag, add, n, false);
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

    /**
     * The inverse of a lower triangular matrix (strict upper triangle of l ignored), also lower, in a new array whose
     * strict upper triangle is zero: {@link #invertLowerInPlace} on a copy of l's lower triangle.
     */
    static double[] invertLower(double[] l, int n) {
        double[] x = new double[n * n];
        for (int i = 0; i < n; i++) System.arraycopy(l, i * n, x, i * n, i + 1);
        invertLowerInPlace(x, n);
        return x;
    }

    /**
     * L^-1 in place: the lower triangle and diagonal of {@code a} (L) become those of L^-1; the strict upper triangle is
     * neither read nor written. Row i of X = L^-1 solves {@code sum_k L_ik X_k = e_i}:
     * {@code X_i = (e_i - sum_{k<i} L_ik X_k) / L_ii}, rows in groups of {@link #GROUP} (each earlier row read once per
     * group). Each group's rows of L are copied aside before they are overwritten: {@code GROUP * n} extra doubles.
     */
    static void invertLowerInPlace(double[] a, int n) {
        double[] rows = new double[GROUP * n];
        for (int i0 = 0; i0 < n; i0 += GROUP) {
            int i1 = Math.min(i0 + GROUP, n);
            for (int i = i0; i < i1; i++) {
                System.arraycopy(a, i * n, rows, (i - i0) * n, i + 1);
                java.util.Arrays.fill(a, i * n, i * n + i + 1, 0.0);
            }
            for (int k = 0; k < i0; k++) {
                for (int i = i0; i < i1; i++) {
                    double lik = rows[(i - i0) * n + k];
                    if (lik != 0) VectorOps.axpy(-lik, a, k * n, a, i * n, k + 1);
                }
            }
            for (int i = i0; i < i1; i++) {
                int ri = i * n;
                int li = (i - i0) * n;
                for (int k = i0; k < i; k++) {
                    double lik = rows[li + k];
                    if (lik != 0) VectorOps.axpy(-lik, a, k * n, a, ri, k + 1);
                }
                double d = 1.0 / rows[li + i];
                for (int j = 0; j < i; j++) a[ri + j] *= d;
                a[ri + i] = d;
            }
        }
    }
}
