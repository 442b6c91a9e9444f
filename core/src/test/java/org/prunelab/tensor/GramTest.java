package org.prunelab.tensor;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class GramTest {

    /** Shapes around the 64-column block: smaller, not a multiple, several blocks. */
    private static final int[][] SHAPES = {{1, 1}, {5, 3}, {130, 64}, {77, 65}, {300, 200}};

    @Test
    void vectorPathMatchesNaiveDoubleSums() {
        check(false);
    }

    @Test
    void blasPathMatchesNaiveDoubleSums() {
        assumeTrue(Gemm.nativeBlasAvailable(), "no native BLAS on this machine");
        check(true);
    }

    private static void check(boolean blas) {
        Random rnd = new Random(5);
        for (int[] shape : SHAPES) {
            int rows = shape[0], cols = shape[1];
            double[] x = new double[rows * cols];
            for (int i = 0; i < x.length; i++) x[i] = rnd.nextInt(10) == 0 ? 0 : rnd.nextGaussian();
            double[] sum = new double[cols * cols];
            for (int i = 0; i < cols; i++) for (int j = i; j < cols; j++) sum[i * cols + j] = 1.5; // accumulates onto existing values
            Gram.accumulateUpper(x, rows, cols, sum, blas);
            for (int i = 0; i < cols; i++) {
                for (int j = i; j < cols; j++) {
                    double want = 1.5;
                    for (int r = 0; r < rows; r++) want += x[r * cols + i] * x[r * cols + j];
                    assertThat(sum[i * cols + j]).as("%dx%d [%d,%d] blas=%s", rows, cols, i, j, blas)
                            .isCloseTo(want, within(1e-12 * (1 + Math.abs(want)) * rows));
                }
            }
        }
    }

    @Test
    void floatInputIsStagedInBatchesAndTheBufferIsReused() {
        Random rnd = new Random(9);
        int rows = Gram.STAGE_ROWS + 37, cols = 70; // more than one staging batch
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        double[] sum = new double[cols * cols];
        double[] stage = Gram.accumulateUpper(x, rows, cols, sum, null);
        assertThat(Gram.accumulateUpper(x, rows, cols, sum, stage)).isSameAs(stage);
        for (int i = 0; i < cols; i += 7) {
            for (int j = i; j < cols; j += 5) {
                double want = 0;
                for (int r = 0; r < rows; r++) want += (double) x[r * cols + i] * x[r * cols + j];
                assertThat(sum[i * cols + j]).isCloseTo(2 * want, within(1e-9 * rows));
            }
        }
    }

    @Test
    void shortArraysAreRejected() {
        assertThatThrownBy(() -> Gram.accumulateUpper(new double[5], 2, 3, new double[9]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 x 3");
    }
}
