package org.prunelab.prune.structured;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Parallel;

/**
 * Closed-form restoration of a consuming matrix after some of its input channels were removed (FASP, Hu et al.
 * 2025, Sec. "restoration"): with calibration inputs X ({@code [N, in]}), the kept channels S and the weight W
 * ({@code [out, in]}), find W' ({@code [out, |S|]}) minimising {@code ||X_S W'^T - X W^T||^2 + lambda ||W'||^2},
 * i.e. the pruned layer's output stays as close as possible to the unpruned one's. The normal equations are
 * {@code W' (G_SS + lambda I) = W G_{:,S}} with {@code G = X^T X / N}; they are solved by Cholesky in double.
 * Ridge damping {@code lambda = damp * mean(diag G_SS)} (as SparseGPT's) keeps the system positive definite when
 * kept channels are dead or collinear.
 */
public final class LeastSquares {
    /** Relative ridge damping used by the pruners, as SparseGPT's percdamp. */
    public static final double DEFAULT_DAMP = 0.01;

    private LeastSquares() {}

    /**
     * @param w    {@code [out, in]} weight of the consuming layer before removal
     * @param gram {@code [in, in]} full symmetric {@code X^T X / N}
     * @param kept the kept input channels, ascending
     * @param damp relative ridge damping (>= 0)
     * @return the restored weight {@code [out, kept.length]}
     * @throws PrunelabException if the damped system is not positive definite even after raising the damping
     */
    public static FloatMatrix restore(FloatMatrix w, double[] gram, int[] kept, double damp) {
        int in = w.cols();
        int out = w.rows();
        int k = kept.length;
        double[] m = new double[k * k];
        double meanDiag = 0;
        for (int a = 0; a < k; a++) {
            for (int b = 0; b < k; b++) m[a * k + b] = gram[kept[a] * in + kept[b]];
            meanDiag += m[a * k + a];
        }
        meanDiag = k == 0 ? 0 : meanDiag / k;
        if (!(meanDiag > 0)) meanDiag = 1; // all kept inputs dead: any weight fits; damping picks the smallest
        double[] l = null;
        for (double d = damp; l == null && d <= 1e3; d = Math.max(10 * d, 1e-6)) {
            double[] trial = m.clone();
            for (int a = 0; a < k; a++) trial[a * k + a] += d * meanDiag;
            l = cholesky(trial, k) ? trial : null;
        }
        if (l == null) {
            throw new PrunelabException("least-squares restoration failed: the kept channels' Gram matrix is not positive"
                    + " definite even with damping; calibrate on more tokens (--nsamples)");
        }
        double[] factor = l;
        double[] upper = new double[k * k]; // L^T row-major, so the backward substitution reads rows
        for (int i = 0; i < k; i++) for (int p = 0; p <= i; p++) upper[p * k + i] = l[i * k + p];
        float[] result = new float[out * k];
        float[] wd = w.data();
        Parallel.forRange(out, 4, (from, to) -> {
            double[] rhs = new double[k];
            double[] row = new double[in];
            for (int o = from; o < to; o++) {
                for (int j = 0; j < in; j++) row[j] = wd[o * in + j];
                // rhs_a = sum_j W[o, j] G[j, kept[a]] (G symmetric: read row kept[a])
                for (int a = 0; a < k; a++) {
                    int base = kept[a] * in;
                    double s = 0;
                    for (int j = 0; j < in; j++) s += row[j] * gram[base + j];
                    rhs[a] = s;
                }
                solveInPlace(factor, upper, k, rhs);
                for (int a = 0; a < k; a++) result[o * k + a] = (float) rhs[a];
            }
        });
        return new FloatMatrix(out, k, result);
    }

    /** Lower Cholesky factor in place (upper triangle ignored); false if not positive definite. */
    static boolean cholesky(double[] a, int n) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = a[i * n + j];
                for (int p = 0; p < j; p++) s -= a[i * n + p] * a[j * n + p];
                if (i == j) {
                    if (!(s > 0) || Double.isInfinite(s)) return false;
                    a[i * n + i] = Math.sqrt(s);
                } else {
                    a[i * n + j] = s / a[j * n + j];
                }
            }
        }
        return true;
    }

    /** Solves {@code L L^T x = b} in place with the lower factor L and its transpose U = L^T. */
    static void solveInPlace(double[] l, double[] u, int n, double[] b) {
        for (int i = 0; i < n; i++) {
            double s = b[i];
            for (int p = 0; p < i; p++) s -= l[i * n + p] * b[p];
            b[i] = s / l[i * n + i];
        }
        for (int i = n - 1; i >= 0; i--) {
            double s = b[i];
            for (int p = i + 1; p < n; p++) s -= u[i * n + p] * b[p];
            b[i] = s / u[i * n + i];
        }
    }
}
