package org.prunelab.prune.structured;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderModel;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.model.LowRankLinear;
import org.prunelab.tensor.FloatMatrix;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Truncated SVD on matrices built from a known SVD: the error is exactly the dropped singular values (Eckart-Young). */
class LowRankTest {

    @Test
    void truncationErrorEqualsTheDroppedSingularValuesPlainAndActivationWeighted() {
        for (long seed = 0; seed < 4; seed++) {
            Random rnd = new Random(seed);
            for (int[] shape : new int[][]{{12, 20}, {20, 12}, {9, 9}}) {
                int out = shape[0], in = shape[1], n = Math.min(out, in);
                double[] sigma = new double[n];
                for (int i = 0; i < n; i++) sigma[i] = 5.0 / (1 + i) + 0.01 * i; // distinct, descending
                double[][] u = orthonormalColumns(rnd, out, n);
                double[][] v = orthonormalColumns(rnd, in, n);
                double[] scale = new double[in];
                for (int j = 0; j < in; j++) scale[j] = seed % 2 == 0 ? 1 : 0.5 + rnd.nextDouble(); // odd seeds: weighted
                // W diag(scale) = U diag(sigma) V^T, so W = U diag(sigma) V^T diag(1/scale).
                float[] w = new float[out * in];
                for (int o = 0; o < out; o++) {
                    for (int j = 0; j < in; j++) {
                        double x = 0;
                        for (int k = 0; k < n; k++) x += u[o][k] * sigma[k] * v[j][k];
                        w[o * in + j] = (float) (x / scale[j]);
                    }
                }
                FloatMatrix wm = new FloatMatrix(out, in, w);
                for (int rank : new int[]{1, n / 2, n}) {
                    LowRankLinear f = LowRank.factor(wm, rank, seed % 2 == 0 ? null : scale, "test");
                    assertThat(f.rank()).isEqualTo(rank);
                    double err = 0;
                    for (int o = 0; o < out; o++) {
                        for (int j = 0; j < in; j++) {
                            double ba = 0;
                            for (int r = 0; r < rank; r++) ba += (double) f.b().get(o, r) * f.a().get(r, j);
                            double d = (ba - w[o * in + j]) * scale[j];
                            err += d * d;
                        }
                    }
                    double dropped = 0;
                    for (int k = rank; k < n; k++) dropped += sigma[k] * sigma[k];
                    assertThat(err).as("seed %d shape %dx%d rank %d", seed, out, in, rank).isCloseTo(dropped, within(1e-4 + 1e-4 * dropped));
                }
            }
        }
    }

    @Test
    void factorisedModelRunsAndBadRatiosAreRejected() {
        DecoderModel model = StructuredPrunerTest.model(3);
        var r = new LowRank(0.5, true).prune(model, StructuredPrunerTest.windows(2, 8, 4), Progress.NONE);
        assertThat(r.model().block(0).linear("down_proj")).isInstanceOf(LowRankLinear.class);
        // down_proj [32, 48]: rank 16 keeps 16 * 80 of 1536 parameters.
        assertThat(((LowRankLinear) r.model().block(0).linear("down_proj")).rank()).isEqualTo(16);
        assertThat(r.model().logits(new int[]{1, 2, 3})[5]).isFinite();
        assertThat(r.warnings()).as("the factors are smaller at 0.5").isEmpty();
        var grown = new LowRank(1.0, false).prune(model, null, Progress.NONE);
        assertThat(grown.actualSparsity()).isNegative();
        assertThat(grown.warnings()).singleElement().asString().contains("the model grew").contains("${rank_ratio} 1.000");
        assertThatThrownBy(() -> new LowRank(1.5, false)).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("above min(in, out)");
        assertThatThrownBy(() -> LowRank.factor(FloatMatrix.zeros(4, 6), 5, null, "layer 0 q_proj"))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("min(in, out) = 4");
        assertThatThrownBy(() -> new LowRank(0.01, false).prune(model, null, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("rank 0");
    }

    /** {@code rows x cols} matrix with orthonormal columns (Gram-Schmidt on Gaussian vectors). */
    private static double[][] orthonormalColumns(Random rnd, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int c = 0; c < cols; c++) {
            for (int r = 0; r < rows; r++) m[r][c] = rnd.nextGaussian();
            for (int p = 0; p < c; p++) {
                double dot = 0;
                for (int r = 0; r < rows; r++) dot += m[r][c] * m[r][p];
                for (int r = 0; r < rows; r++) m[r][c] -= dot * m[r][p];
            }
            double norm = 0;
            for (int r = 0; r < rows; r++) norm += m[r][c] * m[r][c];
            norm = Math.sqrt(norm);
            for (int r = 0; r < rows; r++) m[r][c] /= norm;
        }
        return m;
    }
}
