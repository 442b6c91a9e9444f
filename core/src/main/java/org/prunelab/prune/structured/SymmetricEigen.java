package org.prunelab.prune.structured;

import dev.ludovic.netlib.lapack.LAPACK;
import org.netlib.util.intW;

/**
 * Eigen-decomposition of a dense symmetric matrix through LAPACK's {@code dsyevd} (divide and conquer;
 * native OpenBLAS/LAPACK when present, netlib's Java port otherwise): orthonormal eigenvectors to double
 * rounding, which the truncated SVD of {@link LowRank} needs. A 1536 x 1536 matrix takes well under a second
 * natively.
 */
final class SymmetricEigen {
    /** Eigenvalues, descending. */
    final double[] values;
    /** Eigenvectors as columns of a row-major {@code [n, n]} matrix, in the order of {@link #values}. */
    final double[] vectors;

    private SymmetricEigen(double[] values, double[] vectors) {
        this.values = values;
        this.vectors = vectors;
    }

    /**
     * Decomposes {@code a} (row-major {@code [n, n]}, symmetric; not modified).
     *
     * @throws ArithmeticException if LAPACK reports that the decomposition did not converge
     */
    static SymmetricEigen of(double[] a, int n) {
        double[] m = a.clone(); // symmetric: row-major and column-major are the same matrix
        double[] w = new double[n];
        LAPACK lapack = LAPACK.getInstance();
        intW info = new intW(0);
        double[] workQuery = new double[1];
        int[] iworkQuery = new int[1];
        lapack.dsyevd("V", "U", n, m, Math.max(1, n), w, workQuery, -1, iworkQuery, -1, info);
        double[] work = new double[Math.max(1, (int) workQuery[0])];
        int[] iwork = new int[Math.max(1, iworkQuery[0])];
        lapack.dsyevd("V", "U", n, m, Math.max(1, n), w, work, work.length, iwork, iwork.length, info);
        if (info.val != 0) {
            throw new ArithmeticException("dsyevd did not converge (info " + info.val + ") on a " + n + " x " + n + " matrix");
        }
        // LAPACK: ascending eigenvalues, eigenvector k in column k of the column-major result (m[i + k * n]).
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        for (int j = 0; j < n; j++) {
            int k = n - 1 - j;
            values[j] = w[k];
            for (int i = 0; i < n; i++) vectors[i * n + j] = m[i + k * n];
        }
        return new SymmetricEigen(values, vectors);
    }
}
