package org.prunelab.tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;
import org.prunelab.tensor.sparse.NmQuantLinear;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The batch-1 matvec against a double-precision reference, and its results independent of threads and grouping. */
class MatvecTest {
    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    @ParameterizedTest(name = "[{0}, {1}]")
    @CsvSource({"1, 1", "3, 5", "4, 16", "7, 33", "17, 576", "576, 576", "1536, 577", "193, 1536", "2049, 64"})
    void matchesTheReferenceAndGivesTheSameBitsOnAnyThreadCount(int out, int in) {
        Random rnd = new Random(out * 31L + in);
        FloatMatrix w = gaussian(rnd, out, in);
        float[] x = new float[in + 3];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] y = new float[out + 2];
        Matvec.multiply(w, x, 3, y, 2);
        for (int r = 0; r < out; r++) {
            double expected = 0, scale = 0;
            for (int c = 0; c < in; c++) {
                expected += (double) w.get(r, c) * x[3 + c];
                scale += Math.abs((double) w.get(r, c) * x[3 + c]);
            }
            assertThat((double) y[2 + r]).as("row %d", r).isCloseTo(expected, within(1e-6 * scale + 1e-7));
        }
        for (int threads : new int[]{1, 3}) {
            Parallel.setThreads(threads);
            float[] again = new float[out + 2];
            Matvec.multiply(w, x, 3, again, 2);
            assertThat(again).as("%d threads", threads).isEqualTo(y);
        }
    }

    @ParameterizedTest(name = "{0} threads")
    @CsvSource({"1", "2", "3"})
    void aGroupOfMixedFormatsGivesTheSameBitsAsEachLinearAlone(int threads) {
        Parallel.setThreads(threads);
        Random rnd = new Random(7);
        float[] bias = new float[192];
        for (int i = 0; i < bias.length; i++) bias[i] = (float) rnd.nextGaussian();
        // dense with and without bias, Q8_0 with a bias, Q4_0 with 5 rows (a share smaller than a thread's minimum), 2:4 Q8
        Linear.RowSlices[] group = {
                new DenseLinear(gaussian(rnd, 576, 576), null),
                new QuantLinear(QuantMatrix.quantize(QuantType.Q8_0, gaussian(rnd, 192, 576)), bias),
                new DenseLinear(gaussian(rnd, 192, 576), bias.clone()),
                QuantLinear.of(QuantMatrix.quantize(QuantType.Q4_0, gaussian(rnd, 5, 576))),
                NmQuantLinear.of(twoOfFour(gaussian(rnd, 64, 576)), 2, 4, QuantType.Q8_0)};
        float[] x = new float[576];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[][] ys = new float[group.length][];
        for (int i = 0; i < group.length; i++) ys[i] = new float[group[i].outFeatures()];
        Matvec.forwardAll(group, x, ys);
        for (int i = 0; i < group.length; i++) {
            float[] alone = new float[group[i].outFeatures()];
            group[i].forward(x, 1, alone);
            assertThat(ys[i]).as("linear %d", i).isEqualTo(alone);
            assertThat(alone).as("linear %d is not all zeros", i).isNotEqualTo(new float[alone.length]);
        }
    }

    @Test
    void aGroupRefusesLinearsOfDifferentWidths() {
        assertThatThrownBy(() -> Matvec.forwardAll(new Linear.RowSlices[]{new DenseLinear(FloatMatrix.zeros(2, 3), null),
                        new DenseLinear(FloatMatrix.zeros(2, 4), null)},
                new float[4], new float[][]{new float[2], new float[2]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4 in_features");
    }

    /** Zeros the two smaller-magnitude weights of every group of 4 columns. */
    private static FloatMatrix twoOfFour(FloatMatrix w) {
        float[] d = w.data();
        for (int g = 0; g < d.length; g += 4) {
            for (int k = 0; k < 2; k++) {
                int min = -1;
                for (int j = g; j < g + 4; j++) if (d[j] != 0 && (min < 0 || Math.abs(d[j]) < Math.abs(d[min]))) min = j;
                d[min] = 0;
            }
        }
        return w;
    }

    private static FloatMatrix gaussian(Random rnd, int rows, int cols) {
        FloatMatrix m = FloatMatrix.zeros(rows, cols);
        for (int i = 0; i < m.data().length; i++) m.data()[i] = (float) rnd.nextGaussian();
        return m;
    }
}
