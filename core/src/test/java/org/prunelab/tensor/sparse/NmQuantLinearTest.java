package org.prunelab.tensor.sparse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.prunelab.tensor.sparse.SparseTestData.activations;
import static org.prunelab.tensor.sparse.SparseTestData.assertMatchesReference;
import static org.prunelab.tensor.sparse.SparseTestData.nm;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.quant.QuantType;

/**
 * The quantised packed N:M kernels against the double-precision product with the dequantised weights
 * ({@link PackedNmQuantMatrix#toDense()}), and the quantisation against ggml's block quantiser.
 */
class NmQuantLinearTest {
    private static final int[][] PATTERNS = {{2, 4}, {4, 8}};
    private static final QuantType[] TYPES = {QuantType.Q8_0, QuantType.Q4_0};

    /** The layer with its multiply forced onto one prefill path, so both paths meet the reference. */
    private static Linear withPrefill(NmQuantLinear layer, PackedNmQuantMatrix.Prefill prefill) {
        return new Linear() {
            public int inFeatures() { return layer.inFeatures(); }

            public int outFeatures() { return layer.outFeatures(); }

            public void forward(float[] x, int tokens, float[] y) { layer.weight().multiply(x, tokens, y, prefill); }

            public long parameterBytes() { return layer.parameterBytes(); }

            public long nonZeroParameters() { return layer.nonZeroParameters(); }

            public long totalParameters() { return layer.totalParameters(); }
        };
    }

    private static void assertBothPathsMatch(NmQuantLinear layer, int[] tokenCounts, long seed) {
        FloatMatrix dense = layer.weight().toDense();
        for (int tokens : tokenCounts) {
            assertMatchesReference(layer, dense, tokens, seed);
            if (tokens > 1) {
                assertMatchesReference(withPrefill(layer, PackedNmQuantMatrix.Prefill.TOKEN_BLOCKS), dense, tokens, seed);
                assertMatchesReference(withPrefill(layer, PackedNmQuantMatrix.Prefill.DEQUANTIZED_SLABS), dense, tokens, seed);
            }
        }
    }

    @Test
    void matchesReferenceOnSmolLm2Shapes() {
        long seed = 1;
        for (int[] shape : SparseTestData.SMOLLM2_SHAPES) {
            for (int[] p : PATTERNS) {
                for (QuantType type : TYPES) {
                    FloatMatrix w = nm(shape[0], shape[1], p[0], p[1], 0.0, seed++);
                    NmQuantLinear layer = NmQuantLinear.of(w, p[0], p[1], type);
                    assertBothPathsMatch(layer, new int[] {1, 5, 64}, seed++);
                    assertRowKernelsMatch(layer.weight(), seed++);
                }
            }
        }
    }

    @Test
    void matchesReferenceOnOddShapesPartialGroupsAndSparseGroups() {
        long seed = 100;
        // rows 1, 3, 17; columns with a partial last group (13, 37, 70, 101), not a multiple of 32 (96 has an odd
        // window, 160 an odd window after two whole pairs), tiny (1, 5) and whole (64, 128)
        int[] rowCounts = {1, 3, 17};
        int[] colCounts = {1, 5, 13, 37, 64, 70, 96, 101, 128, 160};
        for (int rows : rowCounts) {
            for (int cols : colCounts) {
                for (int[] p : PATTERNS) {
                    for (QuantType type : TYPES) {
                        // dropProbability 0.3: some groups hold fewer than n nonzeros and get zero padding slots
                        FloatMatrix w = nm(rows, cols, p[0], p[1], 0.3, seed++);
                        NmQuantLinear layer = NmQuantLinear.of(w, p[0], p[1], type);
                        assertBothPathsMatch(layer, new int[] {1, 2, 17, 65, rows == 3 ? 257 : 3}, seed++);
                        assertRowKernelsMatch(layer.weight(), seed++);
                    }
                }
            }
        }
    }

    /**
     * The scalar decode loop (what machines without AVX-512 run for every row) and, where it runs, the vector kernel,
     * each against the double-precision product, row by row.
     */
    private static void assertRowKernelsMatch(PackedNmQuantMatrix w, long seed) {
        float[] x = activations(1, w.cols(), seed);
        FloatMatrix dense = w.toDense();
        for (int r = 0; r < w.rows(); r++) {
            double sum = 0;
            double scale = 0;
            for (int c = 0; c < w.cols(); c++) {
                double p = (double) dense.get(r, c) * x[c];
                sum += p;
                scale += Math.abs(p);
            }
            float scalar = NmQuantKernels.rowDotScalar(w, r, x, 0);
            assertThat(Math.abs(scalar - sum)).as("scalar %s row %d", w, r).isLessThanOrEqualTo(1e-5 * scale);
            if (NmQuantKernels.VECTOR) {
                float vector = NmQuantKernels.rowDot(w, r, x);
                assertThat(Math.abs(vector - sum)).as("vector %s row %d", w, r).isLessThanOrEqualTo(1e-5 * scale);
            }
        }
    }

    @Test
    void handlesEmptyRowsAndAllZeroMatrix() {
        for (QuantType type : TYPES) {
            FloatMatrix w = nm(40, 192, 2, 4, 0.0, 5);
            for (int c = 0; c < 192; c++) {
                w.set(0, c, 0f);
                w.set(17, c, 0f);
            }
            NmQuantLinear layer = NmQuantLinear.of(w, 2, 4, type);
            float[] y = new float[40];
            layer.forward(activations(1, 192, 3), 1, y);
            assertThat(y[0]).isZero();
            assertThat(y[17]).isZero();
            assertBothPathsMatch(layer, new int[] {1, 5, 64}, 6);

            FloatMatrix zero = FloatMatrix.zeros(33, 100);
            NmQuantLinear empty = NmQuantLinear.of(zero, 4, 8, type);
            assertThat(empty.nonZeroParameters()).isZero();
            // Q4_0 gives an all-zero block the scale -0.0 (ggml's d = +0 / -8), so its values are -0.0
            assertThat(empty.weight().toDense().countZeros()).isEqualTo(zero.size());
            assertBothPathsMatch(empty, new int[] {1, 5, 64}, 7);
        }
    }

    @Test
    void keptValuesAreGgmlBlocksOfTheKeptWeights() {
        // Each row's kept weights, in column order and padded to whole blocks, dequantise exactly as ggml's
        // quantize/dequantize round trip of that vector: the blocks are ggml's, only their values are the kept ones.
        for (int[] p : PATTERNS) {
            for (QuantType type : TYPES) {
                FloatMatrix w = nm(9, 200, p[0], p[1], 0.2, 11);
                PackedNmQuantMatrix packed = PackedNmQuantMatrix.quantize(w, p[0], p[1], type);
                FloatMatrix dense = packed.toDense();
                int padded = packed.blocksPerRow() * PackedNmQuantMatrix.BLOCK;
                for (int r = 0; r < w.rows(); r++) {
                    float[] kept = new float[padded];
                    for (int s = 0; s < packed.slotsPerRow(); s++) kept[s] = w.get(r, packed.column(r, s));
                    byte[] blocks = new byte[packed.blocksPerRow() * type.blockBytes()];
                    type.quantize(kept, 0, padded, blocks, 0);
                    float[] expected = new float[padded];
                    type.dequantize(blocks, 0, padded, expected, 0);
                    for (int s = 0; s < packed.slotsPerRow(); s++) {
                        assertThat(dense.get(r, packed.column(r, s))).as("%s row %d slot %d", packed, r, s).isEqualTo(expected[s]);
                    }
                }
                // pruned positions stay zero, and every nonzero weight sits in a slot
                for (int r = 0; r < w.rows(); r++) {
                    for (int c = 0; c < w.cols(); c++) if (w.get(r, c) == 0f) assertThat(dense.get(r, c)).isZero();
                }
            }
        }
    }

    @Test
    void roundTripErrorIsWithinHalfAStepForQ8AndOneStepForQ4() {
        for (int[] p : PATTERNS) {
            FloatMatrix w = nm(64, 576, p[0], p[1], 0.0, 21);
            for (QuantType type : TYPES) {
                PackedNmQuantMatrix packed = PackedNmQuantMatrix.quantize(w, p[0], p[1], type);
                double maxRelative = 0;
                for (int r = 0; r < w.rows(); r++) {
                    for (int b = 0; b < packed.blocksPerRow(); b++) {
                        float amax = 0;
                        int end = Math.min(packed.slotsPerRow(), (b + 1) * PackedNmQuantMatrix.BLOCK);
                        for (int s = b * PackedNmQuantMatrix.BLOCK; s < end; s++) amax = Math.max(amax, Math.abs(w.get(r, packed.column(r, s))));
                        // one quantisation step of the fp32 scale; the fp16 scale moves each value by at most
                        // |q| * |d16 - d| <= 127 (or 8) * d * 2^-11 more
                        float step = type == QuantType.Q8_0 ? amax / 127f : amax / 8f;
                        double bound = (type == QuantType.Q8_0 ? 0.5 + 127 * 0x1p-11 : 1.0 + 8 * 0x1p-11) * step * (1 + 1e-6);
                        for (int s = b * PackedNmQuantMatrix.BLOCK; s < end; s++) {
                            double err = Math.abs(packed.value(r, s) - w.get(r, packed.column(r, s)));
                            assertThat(err).as("%s row %d slot %d", packed, r, s).isLessThanOrEqualTo(bound);
                            if (amax > 0) maxRelative = Math.max(maxRelative, err / amax);
                        }
                    }
                }
                // uniform weights use the whole range: the worst error is close to the bound
                assertThat(maxRelative).isGreaterThan(type == QuantType.Q8_0 ? 0.003 : 0.05);
            }
        }
    }

    @Test
    void storesWellUnderDenseQ8Bytes() {
        FloatMatrix w24 = nm(576, 1536, 2, 4, 0.0, 9);
        FloatMatrix w48 = nm(576, 1536, 4, 8, 0.0, 9);
        double dense = 576.0 * 1536;
        // per row 768 kept values = 24 blocks; codes 48 ints at 2:4, 72 at 4:8
        assertThat(NmQuantLinear.of(w24, 2, 4, QuantType.Q8_0).parameterBytes()).isEqualTo(576L * (24 * 34 + 4 * 48));
        assertThat(NmQuantLinear.of(w24, 2, 4, QuantType.Q4_0).parameterBytes()).isEqualTo(576L * (24 * 18 + 4 * 48));
        assertThat(NmQuantLinear.of(w48, 4, 8, QuantType.Q8_0).parameterBytes()).isEqualTo(576L * (24 * 34 + 4 * 72));
        assertThat(NmQuantLinear.of(w24, 2, 4, QuantType.Q8_0).parameterBytes() / dense).isEqualTo(0.65625);
        assertThat(NmQuantLinear.of(w24, 2, 4, QuantType.Q4_0).parameterBytes() / dense).isEqualTo(0.40625);
        NmQuantLinear layer = NmQuantLinear.of(w24, 2, 4, QuantType.Q8_0);
        assertThat(layer.totalParameters()).isEqualTo(576L * 1536);
        assertThat(layer.nonZeroParameters()).isBetween(576L * 760, 576L * 768);
    }

    @Test
    void rejectsOtherPatternsTypesAndWeightsThatAreNotNm() {
        FloatMatrix w = nm(4, 16, 2, 4, 0.0, 3);
        assertThatThrownBy(() -> NmQuantLinear.of(w, 1, 4, QuantType.Q8_0))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("1:4")
                .hasMessageContaining("2:4 and 4:8");
        for (int c = 4; c < 8; c++) w.set(2, c, c < 7 ? 1f : 0f); // row 2, group 1: 3 nonzeros
        assertThatThrownBy(() -> NmQuantLinear.of(w, 2, 4, QuantType.Q4_0))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("not 2:4")
                .hasMessageContaining("row 2, group 1");
        assertThat(NmQuantLinear.fits(w, 2, 4, QuantType.Q8_0)).isFalse();
        assertThat(NmQuantLinear.fits(nm(4, 16, 2, 4, 0.0, 3), 2, 4, QuantType.Q8_0)).isTrue();
        assertThat(NmQuantLinear.fits(nm(4, 16, 2, 4, 0.0, 3), 4, 8, QuantType.Q4_0)).isTrue();
        assertThat(NmQuantLinear.fits(nm(4, 16, 2, 4, 0.0, 3), 1, 4, QuantType.Q8_0)).isFalse();
        NmQuantLinear ok = NmQuantLinear.of(nm(4, 16, 2, 4, 0.0, 3), 2, 4, QuantType.Q8_0);
        assertThatThrownBy(() -> ok.forward(new float[15], 1, new float[4])).isInstanceOf(IllegalArgumentException.class);
    }
}
