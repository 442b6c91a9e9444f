package org.prunelab.prune.structured;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import dev.ludovic.netlib.blas.BLAS;

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
                    + " definite even with damping; calibrate on more tokens (${calib.nsamples})");
        }
        // rhs = W G[:, S] and the two triangular solves run as BLAS level-3 calls in double. Row-major arrays read
        // as column-major are transposes: rows S of G ([k, in]) act as G[:, S]^T, W ([out, in]) as W^T, the row-major
        // lower factor L as L^T, and the row-major [out, k] result as its [k, out] transpose.
        double[] gSub = new double[k * in];
        for (int a = 0; a < k; a++) System.arraycopy(gram, kept[a] * in, gSub, a * in, in);
        double[] wd = new double[out * in];
        for (int i = 0; i < wd.length; i++) wd[i] = w.data()[i];
        double[] rhs = new double[out * k]; // column-major [k, out] = (W G[:, S])^T
        BLAS blas = BLAS.getInstance();
        blas.dgemm("T", "N", k, out, in, 1.0, gSub, in, wd, in, 0.0, rhs, k);
        blas.dtrsm("L", "U", "T", "N", k, out, 1.0, l, k, rhs, k); // L y = rhs
        blas.dtrsm("L", "U", "N", "N", k, out, 1.0, l, k, rhs, k); // L^T x = y
        float[] result = new float[out * k];
        for (int i = 0; i < result.length; i++) result[i] = (float) rhs[i];
        return new FloatMatrix(out, k, result);
    }

    /** Lower Cholesky factor in place, strict upper triangle zeroed; false if not positive definite. */
    static boolean cholesky(double[] a, int n) {
        for (int i = 0; i < n; i++) {
            java.util.Arrays.fill(a, i * n + i + 1, (i + 1) * n, 0.0);
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
}
