package org.prunelab.tensor.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.prunelab.tensor.sparse.SparseTestData.assertMatchesReference;
import static org.prunelab.tensor.sparse.SparseTestData.unstructured;

import org.junit.jupiter.api.Test;
import org.prunelab.tensor.FloatMatrix;

class CsrLinearTest {
    private static final int[] TOKENS = {1, 5, 64};

    @Test
    void matchesReferenceOnSmolLm2ShapesAtEachSparsity() {
        long seed = 1;
        for (int[] shape : SparseTestData.SMOLLM2_SHAPES) {
            for (double sparsity : new double[] {0.5, 0.7, 0.9}) {
                FloatMatrix w = unstructured(shape[0], shape[1], sparsity, seed++);
                CsrLinear layer = CsrLinear.of(w);
                for (int tokens : TOKENS) assertMatchesReference(layer, w, tokens, seed++);
            }
        }
    }

    @Test
    void matchesReferenceOnShapesNotDivisibleByTheVectorWidth() {
        long seed = 100;
        int[][] shapes = {{7, 13}, {33, 37}, {5, 1}, {1, 5}, {17, 129}};
        for (int[] shape : shapes) {
            for (double sparsity : new double[] {0.0, 0.5, 0.9}) {
                FloatMatrix w = unstructured(shape[0], shape[1], sparsity, seed++);
                for (int tokens : new int[] {1, 2, 5, 16, 17, 64, 65, 70}) {
                    assertMatchesReference(CsrLinear.of(w), w, tokens, seed++);
                }
            }
        }
    }

    @Test
    void handlesEmptyRowsFullyDenseRowsAndAllZeroMatrix() {
        FloatMatrix w = unstructured(40, 50, 0.6, 7);
        for (int c = 0; c < 50; c++) {
            w.set(3, c, 0f);                 // empty row
            w.set(11, c, 0.25f + c);         // fully dense row
            w.set(39, c, 0f);                // empty last row
        }
        for (int tokens : TOKENS) assertMatchesReference(CsrLinear.of(w), w, tokens, 8);

        FloatMatrix zero = FloatMatrix.zeros(33, 37);
        CsrLinear layer = CsrLinear.of(zero);
        assertThat(layer.nonZeroParameters()).isZero();
        for (int tokens : TOKENS) assertMatchesReference(layer, zero, tokens, 9);
    }

    @Test
    void roundTripsAndCountsParameters() {
        FloatMatrix w = unstructured(576, 576, 0.7, 11);
        CsrLinear layer = CsrLinear.of(w);
        assertThat(layer.weight().toDense()).isEqualTo(w);
        long nnz = w.size() - w.countZeros();
        assertThat(layer.nonZeroParameters()).isEqualTo(nnz);
        assertThat(layer.totalParameters()).isEqualTo(576L * 576);
        assertThat(layer.parameterBytes()).isEqualTo(8 * nnz + 4 * 577);
        assertThat(layer.inFeatures()).isEqualTo(576);
        assertThat(layer.outFeatures()).isEqualTo(576);
    }

    @Test
    void rejectsShortBuffers() {
        CsrLinear layer = CsrLinear.of(unstructured(8, 6, 0.5, 3));
        assertThatThrownBy(() -> layer.forward(new float[11], 2, new float[16]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2, 6] in");
        assertThatThrownBy(() -> layer.forward(new float[6], 0, new float[8]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 1");
    }
}
