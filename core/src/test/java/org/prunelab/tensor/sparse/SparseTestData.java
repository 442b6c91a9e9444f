package org.prunelab.tensor.sparse;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.FloatMatrix;

/** Seeded pruned matrices and the scalar double-precision reference y = x W^T that every kernel must match. */
final class SparseTestData {
    /** The real SmolLM2-135M linear shapes [out, in]: q/o_proj, gate/up_proj, down_proj. */
    static final int[][] SMOLLM2_SHAPES = {{576, 576}, {1536, 576}, {576, 1536}};

    private SparseTestData() {}

    /** Each entry zero with probability {@code sparsity}, else uniform in [-1, 1). */
    static FloatMatrix unstructured(int rows, int cols, double sparsity, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = rnd.nextDouble() < sparsity ? 0f : (float) (2 * rnd.nextDouble() - 1);
        return new FloatMatrix(rows, cols, d);
    }

    /**
     * Exactly n random nonzeros in every full group of m (min(n, size) in a trailing partial group);
     * with {@code dropProbability} &gt; 0 some kept weights are zero too (groups with fewer than n).
     */
    static FloatMatrix nm(int rows, int cols, int n, int m, double dropProbability, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        int[] order = new int[m];
        for (int r = 0; r < rows; r++) {
            for (int g0 = 0; g0 < cols; g0 += m) {
                int size = Math.min(m, cols - g0);
                for (int i = 0; i < size; i++) order[i] = i;
                for (int i = size - 1; i > 0; i--) {
                    int j = rnd.nextInt(i + 1);
                    int t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
                for (int i = 0; i < Math.min(n, size); i++) {
                    if (rnd.nextDouble() >= dropProbability) d[r * cols + g0 + order[i]] = (float) (2 * rnd.nextDouble() - 1);
                }
            }
        }
        return new FloatMatrix(rows, cols, d);
    }

    static float[] activations(int tokens, int in, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[tokens * in];
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * rnd.nextDouble() - 1);
        return x;
    }

    /**
     * Runs {@code layer} on seeded activations and checks every output against the double reference:
     * |y - ref| &lt;= 1e-5 * sum_c |W[r,c] x[t,c]| (relative to the product's scale, so rows that cancel
     * are not held to an impossible bound; an all-zero row must give exactly 0).
     */
    static void assertMatchesReference(Linear layer, FloatMatrix w, int tokens, long seed) {
        int in = w.cols();
        int out = w.rows();
        float[] x = activations(tokens, in, seed);
        float[] y = new float[tokens * out];
        java.util.Arrays.fill(y, Float.NaN); // the layer must overwrite every output
        layer.forward(x, tokens, y);
        float[] d = w.data();
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < out; r++) {
                double sum = 0;
                double scale = 0;
                for (int c = 0; c < in; c++) {
                    double p = (double) d[r * in + c] * x[t * in + c];
                    sum += p;
                    scale += Math.abs(p);
                }
                float got = y[t * out + r];
                assertThat(Math.abs(got - sum))
                        .as("%s on %s, token %d of %d, row %d: got %s, reference %s", layer.getClass().getSimpleName(),
                                w, t, tokens, r, got, sum)
                        .isLessThanOrEqualTo(1e-5 * scale);
            }
        }
    }
}
