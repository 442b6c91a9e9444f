package org.prunelab.prune.structured;

import org.junit.jupiter.api.Test;
import org.prunelab.tensor.FloatMatrix;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Restoration on random correlated data: it beats plain column removal and equals a direct ridge solve. */
class LeastSquaresTest {

    @Test
    void restorationReducesTheOutputErrorAndMatchesADirectSolve() {
        for (long seed = 0; seed < 6; seed++) {
            Random rnd = new Random(seed);
            int n = 300, in = 24, out = 10;
            // Correlated inputs (a random mix of fewer sources plus noise), so kept channels can stand in for removed ones.
            double[][] mix = gaussian(rnd, 12, in);
            double[][] z = gaussian(rnd, n, 12);
            float[] x = new float[n * in];
            for (int t = 0; t < n; t++) {
                for (int j = 0; j < in; j++) {
                    double v = 0.1 * rnd.nextGaussian();
                    for (int s = 0; s < 12; s++) v += z[t][s] * mix[s][j];
                    x[t * in + j] = (float) v;
                }
            }
            FloatMatrix w = new FloatMatrix(out, in, toFloat(gaussian(rnd, out, in)));
            int[] kept = rnd.ints(0, in).distinct().limit(16).sorted().toArray();
            ChannelStats stats = new ChannelStats(in, true);
            stats.add(x, n);
            double damp = 0.01;

            FloatMatrix restored = LeastSquares.restore(w, stats.gram(), kept, damp);
            FloatMatrix cut = BlockShrinker.columns(w, kept);
            double restoredError = outputError(x, n, in, w, restored, kept);
            double cutError = outputError(x, n, in, w, cut, kept);
            assertThat(restoredError).as("seed %d", seed).isLessThan(cutError);

            double[][] direct = directRidgeSolve(x, n, in, w, kept, damp);
            for (int o = 0; o < out; o++) {
                for (int a = 0; a < kept.length; a++) {
                    assertThat((double) restored.get(o, a)).as("seed %d W'[%d, %d]", seed, o, a)
                            .isCloseTo(direct[o][a], within(1e-4 * (1 + Math.abs(direct[o][a]))));
                }
            }
        }
    }

    @Test
    void withAllChannelsKeptAndNoDampingTheWeightIsUnchanged() {
        Random rnd = new Random(7);
        int n = 200, in = 8, out = 3;
        float[] x = toFloat(gaussian(rnd, n, in));
        FloatMatrix w = new FloatMatrix(out, in, toFloat(gaussian(rnd, out, in)));
        ChannelStats stats = new ChannelStats(in, true);
        stats.add(x, n);
        FloatMatrix restored = LeastSquares.restore(w, stats.gram(), new int[]{0, 1, 2, 3, 4, 5, 6, 7}, 0);
        for (int i = 0; i < w.data().length; i++) {
            assertThat(restored.data()[i]).isCloseTo(w.data()[i], within(1e-4f));
        }
    }

    /** ||X_S W'^T - X W^T||_F. */
    private static double outputError(float[] x, int n, int in, FloatMatrix w, FloatMatrix wKept, int[] kept) {
        double err = 0;
        for (int t = 0; t < n; t++) {
            for (int o = 0; o < w.rows(); o++) {
                double full = 0, pruned = 0;
                for (int j = 0; j < in; j++) full += (double) x[t * in + j] * w.get(o, j);
                for (int a = 0; a < kept.length; a++) pruned += (double) x[t * in + kept[a]] * wKept.get(o, a);
                err += (full - pruned) * (full - pruned);
            }
        }
        return Math.sqrt(err);
    }

    /**
     * The ridge normal equations solved by Gauss-Jordan elimination straight from X: (X_S^T X_S / N + lambda I) W'^T =
     * X_S^T X W^T / N with lambda = damp * mean(diag(X_S^T X_S / N)).
     */
    private static double[][] directRidgeSolve(float[] x, int n, int in, FloatMatrix w, int[] kept, double damp) {
        int k = kept.length, out = w.rows();
        double[][] a = new double[k][k + out];
        for (int p = 0; p < k; p++) {
            for (int q = 0; q < k; q++) {
                double s = 0;
                for (int t = 0; t < n; t++) s += (double) x[t * in + kept[p]] * x[t * in + kept[q]];
                a[p][q] = s / n;
            }
            for (int o = 0; o < out; o++) {
                double s = 0;
                for (int t = 0; t < n; t++) {
                    double y = 0;
                    for (int j = 0; j < in; j++) y += (double) x[t * in + j] * w.get(o, j);
                    s += x[t * in + kept[p]] * y;
                }
                a[p][k + o] = s / n;
            }
        }
        double mean = 0;
        for (int p = 0; p < k; p++) mean += a[p][p];
        mean /= k;
        for (int p = 0; p < k; p++) a[p][p] += damp * mean;
        for (int c = 0; c < k; c++) {
            int pivot = c;
            for (int r = c + 1; r < k; r++) if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) pivot = r;
            double[] tmp = a[c]; a[c] = a[pivot]; a[pivot] = tmp;
            for (int r = 0; r < k; r++) {
                if (r == c) continue;
                double f = a[r][c] / a[c][c];
                for (int col = c; col < k + out; col++) a[r][col] -= f * a[c][col];
            }
        }
        double[][] result = new double[out][k];
        for (int o = 0; o < out; o++) for (int p = 0; p < k; p++) result[o][p] = a[p][k + o] / a[p][p];
        return result;
    }

    private static double[][] gaussian(Random rnd, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (double[] row : m) for (int j = 0; j < cols; j++) row[j] = rnd.nextGaussian();
        return m;
    }

    private static float[] toFloat(double[][] m) {
        float[] f = new float[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) for (int j = 0; j < m[0].length; j++) f[i * m[0].length + j] = (float) m[i][j];
        return f;
    }

}
