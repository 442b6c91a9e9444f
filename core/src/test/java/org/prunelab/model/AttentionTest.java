package org.prunelab.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The tiled GEMM attention against a direct per-head, per-query loop in double precision. */
class AttentionTest {

    @ParameterizedTest(name = "heads {0}, kv heads {1}, tokens {2}, past {3}")
    @CsvSource({"4, 4, 7, 0", "4, 2, 70, 0", "4, 1, 33, 0", "4, 2, 5, 40", "4, 4, 1, 9", "4, 2, 40, 35", "4, 2, 1, 70", "4, 1, 1, 0", "4, 2, 1, 200"})
    void matchesNaiveCausalGroupedQueryAttention(int heads, int kvHeads, int tokens, int past) {
        DecoderConfig c = TinyLlama.config(heads, kvHeads);
        Attention attention = new Attention(c, new Rope(c), 0);
        Random rnd = new Random(heads * 1000L + kvHeads * 100L + tokens + past);
        int total = past + tokens;
        float[] q = gaussian(rnd, tokens * c.qDim(), 1.5);
        float[] k = gaussian(rnd, (total + 3) * c.kvDim(), 1.5); // spare rows beyond the context must be ignored
        float[] v = gaussian(rnd, (total + 3) * c.kvDim(), 1.0);
        float[] out = new float[tokens * c.qDim()];
        attention.scaledDotProduct(q, k, v, tokens, past, out);

        int d = c.headDim();
        for (int h = 0; h < heads; h++) {
            int g = h / c.groupSize();
            for (int t = 0; t < tokens; t++) {
                int seen = past + t + 1;
                double[] w = new double[seen];
                double max = Double.NEGATIVE_INFINITY;
                for (int s = 0; s < seen; s++) {
                    double dot = 0;
                    for (int i = 0; i < d; i++) dot += (double) q[t * c.qDim() + h * d + i] * k[s * c.kvDim() + g * d + i];
                    w[s] = dot / Math.sqrt(d);
                    max = Math.max(max, w[s]);
                }
                double z = 0;
                for (int s = 0; s < seen; s++) z += (w[s] = Math.exp(w[s] - max));
                for (int i = 0; i < d; i++) {
                    double o = 0;
                    for (int s = 0; s < seen; s++) o += w[s] / z * v[s * c.kvDim() + g * d + i];
                    assertThat((double) out[t * c.qDim() + h * d + i]).as("head %d token %d dim %d", h, t, i)
                            .isCloseTo(o, within(1e-5));
                }
            }
        }
    }

    private static float[] gaussian(Random rnd, int n, double std) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (rnd.nextGaussian() * std);
        return x;
    }
}
