package org.prunelab.tensor.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.prunelab.tensor.sparse.SparseTestData.assertMatchesReference;
import static org.prunelab.tensor.sparse.SparseTestData.nm;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

class NmLinearTest {
    private static final int[][] PATTERNS = {{2, 4}, {4, 8}};

    @Test
    void matchesReferenceOnSmolLm2Shapes() {
        long seed = 1;
        for (int[] shape : SparseTestData.SMOLLM2_SHAPES) {
            for (int[] p : PATTERNS) {
                FloatMatrix w = nm(shape[0], shape[1], p[0], p[1], 0.0, seed++);
                NmLinear layer = NmLinear.of(w, p[0], p[1]);
                for (int tokens : new int[] {1, 5, 64}) assertMatchesReference(layer, w, tokens, seed++);
            }
        }
    }

    @Test
    void matchesReferenceOnOddShapesPartialGroupsAndOtherPatterns() {
        long seed = 100;
        int[][] shapes = {{7, 13}, {33, 37}, {5, 1}, {1, 5}, {9, 64}, {3, 70}};
        int[][] patterns = {{2, 4}, {4, 8}, {1, 2}, {3, 8}, {1, 4}, {6, 7}};
        for (int[] shape : shapes) {
            for (int[] p : patterns) {
                // dropProbability 0.3: some groups hold fewer than n nonzeros and get zero padding slots
                FloatMatrix w = nm(shape[0], shape[1], p[0], p[1], 0.3, seed++);
                NmLinear layer = NmLinear.of(w, p[0], p[1]);
                assertThat(layer.weight().toDense()).isEqualTo(w);
                for (int tokens : new int[] {1, 2, 5, 17, 64, 65}) assertMatchesReference(layer, w, tokens, seed++);
            }
        }
    }

    @Test
    void handlesEmptyRowsAndAllZeroMatrix() {
        FloatMatrix w = nm(40, 48, 2, 4, 0.0, 5);
        for (int c = 0; c < 48; c++) {
            w.set(0, c, 0f);
            w.set(17, c, 0f);
        }
        for (int tokens : new int[] {1, 5, 64}) assertMatchesReference(NmLinear.of(w, 2, 4), w, tokens, 6);

        FloatMatrix zero = FloatMatrix.zeros(33, 37);
        NmLinear layer = NmLinear.of(zero, 4, 8);
        assertThat(layer.nonZeroParameters()).isZero();
        for (int tokens : new int[] {1, 5, 64}) assertMatchesReference(layer, zero, tokens, 7);
    }

    @Test
    void storesAboutHalfTheDenseBytesFor24And48() {
        for (int[] p : PATTERNS) {
            FloatMatrix w = nm(576, 1536, p[0], p[1], 0.0, 9);
            NmLinear layer = NmLinear.of(w, p[0], p[1]);
            PackedNmMatrix packed = layer.weight();
            assertThat(packed.slotsPerRow()).isEqualTo(768);
            assertThat(packed.wordsPerRow()).isEqualTo(24);
            // 768 values of 4 bytes + 24 bitmap words of 8 bytes per row: 0.531 of dense's 6144
            assertThat(layer.parameterBytes()).isEqualTo(576L * (768 * 4 + 24 * 8));
            assertThat((double) layer.parameterBytes() / (4.0 * 576 * 1536)).isLessThan(0.54);
            assertThat(layer.nonZeroParameters()).isEqualTo(w.size() - w.countZeros());
            assertThat(layer.totalParameters()).isEqualTo(576L * 1536);
        }
    }

    @Test
    void rejectsWeightsThatAreNotNm() {
        FloatMatrix w = nm(4, 16, 2, 4, 0.0, 3);
        for (int c = 4; c < 8; c++) w.set(2, c, c < 7 ? 1f : 0f); // row 2, group 1 (columns 4..7): 3 nonzeros
        assertThatThrownBy(() -> NmLinear.of(w, 2, 4))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("not 2:4")
                .hasMessageContaining("row 2, group 1")
                .hasMessageContaining("3 nonzeros")
                .hasMessageContaining("csr")
                .hasMessageContaining("dense");
        assertThat(PackedNmMatrix.findViolation(w, 2, 4)).contains(new PackedNmMatrix.Violation(2, 1, 3));
        // as 4:8, group 0 of row 2 holds columns 0..3 (two nonzeros) and 4..7 (three)
        assertThat(PackedNmMatrix.findViolation(w, 4, 8)).contains(new PackedNmMatrix.Violation(2, 0, 5));
        assertThat(PackedNmMatrix.findViolation(nm(4, 16, 2, 4, 0.0, 3), 2, 4)).isEmpty();
    }

    @Test
    void rejectsUnsupportedPatterns() {
        FloatMatrix w = FloatMatrix.zeros(2, 16);
        for (int[] p : new int[][] {{0, 4}, {4, 4}, {5, 4}, {8, 16}}) {
            assertThatThrownBy(() -> NmLinear.of(w, p[0], p[1]))
                    .isInstanceOf(PrunelabException.InvalidArgument.class)
                    .hasMessageContaining(p[0] + ":" + p[1])
                    .hasMessageContaining("0 < N < M <= 8");
        }
    }
}
