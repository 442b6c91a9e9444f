package org.prunelab.tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

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

    @Test
    void aGroupGivesTheSameBitsAsEachMatrixAlone() {
        Random rnd = new Random(7);
        FloatMatrix[] ws = {gaussian(rnd, 576, 576), gaussian(rnd, 192, 576), gaussian(rnd, 5, 576)};
        float[] x = new float[576];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[][] ys = {new float[576], new float[192], new float[5]};
        Matvec.multiplyAll(ws, x, ys);
        for (int i = 0; i < ws.length; i++) {
            float[] alone = new float[ws[i].rows()];
            Matvec.multiply(ws[i], x, 0, alone, 0);
            assertThat(ys[i]).as("matrix %d", i).isEqualTo(alone);
        }
    }

    @Test
    void aGroupRefusesMatricesOfDifferentWidths() {
        assertThatThrownBy(() -> Matvec.multiplyAll(new FloatMatrix[]{FloatMatrix.zeros(2, 3), FloatMatrix.zeros(2, 4)},
                new float[4], new float[][]{new float[2], new float[2]}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4 columns");
    }

    private static FloatMatrix gaussian(Random rnd, int rows, int cols) {
        FloatMatrix m = FloatMatrix.zeros(rows, cols);
        for (int i = 0; i < m.data().length; i++) m.data()[i] = (float) rnd.nextGaussian();
        return m;
    }
}
