package org.prunelab.prune.structured;

/**
 * Eigen-decomposition of a small dense symmetric matrix by the cyclic Jacobi method (Golub &amp; Van Loan,
 * "Matrix Computations", Sec. 8.5): plane rotations zero one off-diagonal entry at a time, sweep after sweep,
 * until the off-diagonal mass is negligible. Slow (about 3 n^3 flops per sweep, 6-10 sweeps) but short, exact
 * to double rounding and with orthonormal eigenvectors, which truncated SVD needs.
 */
final class SymmetricEigen {
    private static final int MAX_SWEEPS = 60;

    /** Eigenvalues, descending. */
    final double[] values;
    /** Eigenvectors as columns of a row-major {@code [n, n]} matrix, in the order of {@link #values}. */
    final double[] vectors;

    private SymmetricEigen(double[] values, double[] vectors) {
        this.values = values;
        this.vectors = vectors;
    }

    /** Decomposes {@code a} (row-major {@code [n, n]}, symmetric; not modified). */
    static SymmetricEigen of(double[] a, int n) {
        double[] m = a.clone();
        double[] v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        double total = 0;
        for (double x : m) total += x * x;
        for (int sweep = 0; sweep < MAX_SWEEPS; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += m[p * n + q] * m[p * n + q];
            if (off <= 1e-26 * total || off == 0) break;
            for (int p = 0; p < n - 1; p++) {
                for (int q = p + 1; q < n; q++) {
                    double apq = m[p * n + q];
                    if (apq == 0) continue;
                    double tau = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                    double t = Math.signum(tau) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
                    if (tau == 0) t = 1;
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = t * c;
                    rotate(m, v, n, p, q, c, s);
                }
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        double[] diag = new double[n];
        for (int i = 0; i < n; i++) diag[i] = m[i * n + i];
        java.util.Arrays.sort(order, (x, y) -> Double.compare(diag[y], diag[x]));
        double[] values = new double[n];
        double[] vectors = new double[n * n];
        for (int j = 0; j < n; j++) {
            values[j] = diag[order[j]];
            for (int i = 0; i < n; i++) vectors[i * n + j] = v[i * n + order[j]];
        }
        return new SymmetricEigen(values, vectors);
    }

    /** M <- J^T M J and V <- V J for the rotation J in the (p, q) plane with J_pp = J_qq = c, J_pq = s = -J_qp. */
    private static void rotate(double[] m, double[] v, int n, int p, int q, double c, double s) {
        for (int k = 0; k < n; k++) { // columns p and q
            double kp = m[k * n + p], kq = m[k * n + q];
            m[k * n + p] = c * kp - s * kq;
            m[k * n + q] = s * kp + c * kq;
            double vp = v[k * n + p], vq = v[k * n + q];
            v[k * n + p] = c * vp - s * vq;
            v[k * n + q] = s * vp + c * vq;
        }
        for (int k = 0; k < n; k++) { // rows p and q
            double pk = m[p * n + k], qk = m[q * n + k];
            m[p * n + k] = c * pk - s * qk;
            m[q * n + k] = s * pk + c * qk;
        }
    }
}
