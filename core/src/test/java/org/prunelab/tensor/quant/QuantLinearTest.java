package org.prunelab.tensor.quant;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every kernel of {@link QuantLinear} (batch-1 matvec, the few-token kernel, the dequantise-then-GEMM tiles) against
 * the plain reference: the weight dequantised by {@link QuantType#dequantize} and dotted with x in double. Tolerance:
 * 1e-5 of {@code sum_c |W[r, c] x[c]|}, relative error measured against the size of the terms so that cancellation in
 * a sum near zero does not count as error.
 */
class QuantLinearTest {
    private static final int THREADS = Parallel.threads();
    private static final int[] TOKENS = {1, 2, 3, 4, 5, 7, 8, 9, 17};

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(THREADS);
    }

    private static FloatMatrix random(int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) (rnd.nextGaussian() * (1 + (i / 32) % 3));
        return new FloatMatrix(rows, cols, d);
    }

    private static float[] activations(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }

    /** Checks {@code y} against the double-precision reference of the dequantised weight, bias added. */
    private static void assertMatchesReference(QuantLinear layer, float[] x, int tokens, float[] y, String what) {
        FloatMatrix w = layer.weight().dequantize();
        int in = w.cols(), out = w.rows();
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < out; r++) {
                double s = 0, mag = 0;
                for (int c = 0; c < in; c++) {
                    double p = (double) w.get(r, c) * x[t * in + c];
                    s += p;
                    mag += Math.abs(p);
                }
                if (layer.bias() != null) {
                    s += layer.bias()[r];
                    mag += Math.abs(layer.bias()[r]);
                }
                double err = Math.abs(y[t * out + r] - s);
                if (err > 1e-5 * mag + 1e-30) {
                    throw new AssertionError(what + ": y[" + t + ", " + r + "] = " + y[t * out + r] + " but the reference is "
                            + s + " (|terms| " + mag + ")");
                }
            }
        }
    }

    @Test
    void kernelsMatchTheScalarReferenceOnOddShapes() {
        int[] rowCounts = {1, 2, 3, 5, 7, 9, 13, 37, 130};
        int[] colCounts = {32, 64, 96, 160, 576};
        long seed = 1;
        for (int threads : new int[] {1, 3}) {
            Parallel.setThreads(threads);
            for (QuantType type : QuantType.values()) {
                for (int rows : rowCounts) {
                    for (int cols : colCounts) {
                        QuantLinear layer = QuantLinear.quantize(type, random(rows, cols, seed++), null);
                        for (int tokens : TOKENS) {
                            float[] x = activations(tokens * cols, seed++);
                            float[] y = new float[tokens * rows];
                            layer.forward(x, tokens, y);
                            assertMatchesReference(layer, x, tokens, y, type + " [" + rows + ", " + cols + "] x "
                                    + tokens + " tokens, " + threads + " threads");
                        }
                    }
                }
            }
        }
    }

    /** Both Q4_0 batch-1 kernels (the nibble table on 16 lanes, the masked one elsewhere) on the same odd shapes. */
    @Test
    void bothQ4KernelsMatchTheReference() {
        long seed = 500;
        for (int rows : new int[] {1, 3, 37}) {
            for (int cols : new int[] {32, 96, 576}) {
                QuantLinear layer = QuantLinear.quantize(QuantType.Q4_0, random(rows, cols, seed++), null);
                float[] x = activations(cols, seed++);
                for (boolean table : new boolean[] {true, false}) {
                    float[] y = new float[rows];
                    QuantKernels.matvec(layer.weight(), x, 0, y, 0, 0, rows, table);
                    assertMatchesReference(layer, x, 1, y, "Q4_0 [" + rows + ", " + cols + "], table kernel " + table);
                }
            }
        }
    }

    @Test
    void largeShapesSplitOverThreadsMatchTheReference() {
        Parallel.setThreads(2);
        for (QuantType type : QuantType.values()) {
            QuantLinear layer = QuantLinear.quantize(type, random(389, 1536, 7), activations(389, 8));
            for (int tokens : new int[] {1, 3, 17, 70}) {
                float[] x = activations(tokens * 1536, 9 + tokens);
                float[] y = new float[tokens * 389];
                layer.forward(x, tokens, y);
                assertMatchesReference(layer, x, tokens, y, type + " [389, 1536] x " + tokens);
            }
        }
    }

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        for (QuantType type : QuantType.values()) {
            QuantLinear layer = QuantLinear.quantize(type, random(301, 192, 21), null);
            for (int tokens : new int[] {1, 3, 9}) {
                float[] x = activations(tokens * 192, 22);
                float[] one = new float[tokens * 301];
                float[] three = new float[tokens * 301];
                Parallel.setThreads(1);
                layer.forward(x, tokens, one);
                Parallel.setThreads(3);
                layer.forward(x, tokens, three);
                assertThat(three).as("%s, %d tokens", type, tokens).isEqualTo(one);
            }
        }
    }

    @Test
    void everyGemmBackendServesThePrefillTiles() {
        Gemm.Backend before = Gemm.active().backend();
        try {
            for (Gemm.Backend backend : Gemm.Backend.values()) {
                Gemm.setActive(backend);
                for (QuantType type : QuantType.values()) {
                    QuantLinear layer = QuantLinear.quantize(type, random(150, 96, 3), null);
                    float[] x = activations(20 * 96, 4);
                    float[] y = new float[20 * 150];
                    layer.forward(x, 20, y);
                    assertMatchesReference(layer, x, 20, y, type + " through " + backend);
                }
            }
        } finally {
            Gemm.setActive(before);
        }
    }

    @Test
    void zeroBlocksAndZeroRowsGiveZeros() {
        float[] w = random(6, 96, 5).data();
        java.util.Arrays.fill(w, 96, 2 * 96, 0f);     // row 1 all zero blocks
        java.util.Arrays.fill(w, 4 * 96 + 32, 4 * 96 + 64, 0f); // one zero block inside row 4
        for (QuantType type : QuantType.values()) {
            QuantLinear layer = QuantLinear.quantize(type, new FloatMatrix(6, 96, w), null);
            for (int tokens : TOKENS) {
                float[] x = activations(tokens * 96, 6);
                float[] y = new float[tokens * 6];
                java.util.Arrays.fill(y, Float.NaN);
                layer.forward(x, tokens, y);
                for (int t = 0; t < tokens; t++) assertThat(y[t * 6 + 1]).isZero();
                assertMatchesReference(layer, x, tokens, y, type + " with zero blocks, " + tokens + " tokens");
            }
            assertThat(layer.nonZeroParameters()).isLessThanOrEqualTo(6 * 96 - 96 - 32);
            // A layer with no output rows does nothing; one with no input columns writes zeros.
            QuantLinear empty = QuantLinear.of(QuantMatrix.of(type, 0, 64, new byte[0]));
            empty.forward(new float[64], 1, new float[0]);
            QuantLinear noInputs = QuantLinear.of(QuantMatrix.of(type, 3, 0, new byte[0]));
            float[] y = {1, 2, 3, 4, 5, 6};
            noInputs.forward(new float[0], 2, y);
            assertThat(y).containsOnly(0f);
        }
    }

    @Test
    void mappedBlocksGiveTheSameProductAsHeapBlocks() {
        for (QuantType type : QuantType.values()) {
            QuantMatrix heap = QuantMatrix.quantize(type, random(45, 192, 11));
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment off = arena.allocate(heap.byteSize() + 1, 1).asSlice(1); // deliberately unaligned
                MemorySegment.copy(heap.toByteArray(), 0, off, ValueLayout.JAVA_BYTE, 0, (int) heap.byteSize());
                QuantMatrix mapped = QuantMatrix.wrap(type, 45, 192, off);
                assertThat(mapped.isView()).isTrue();
                assertThat(mapped.blocks().isReadOnly()).isTrue();
                assertThat(mapped.dequantize()).isEqualTo(heap.dequantize());
                for (int tokens : TOKENS) {
                    float[] x = activations(tokens * 192, 12);
                    float[] a = new float[tokens * 45];
                    float[] b = new float[tokens * 45];
                    QuantLinear.of(heap).forward(x, tokens, a);
                    QuantLinear.of(mapped).forward(x, tokens, b);
                    assertThat(b).as("%s mapped vs heap, %d tokens", type, tokens).isEqualTo(a);
                }
            }
        }
    }

    @Test
    void scalarFallbackMatchesTheReference() {
        for (QuantType type : QuantType.values()) {
            QuantLinear layer = QuantLinear.quantize(type, random(3, 160, 13), null);
            float[] x = activations(160, 14);
            float[] y = new float[3];
            for (int r = 0; r < 3; r++) y[r] = QuantKernels.dotScalar(layer.weight(), r, x, 0);
            assertMatchesReference(layer, x, 1, y, type + " scalar");
        }
    }

    @Test
    void sizesAndCountsAreThoseOfTheBlocks() {
        FloatMatrix w = random(10, 64, 15);
        w.set(0, 0, 0f);
        float[] bias = new float[10];
        bias[3] = 1f;
        QuantLinear q8 = QuantLinear.quantize(QuantType.Q8_0, w, bias);
        QuantLinear q4 = QuantLinear.quantize(QuantType.Q4_0, w, null);
        assertThat(q8.parameterBytes()).isEqualTo(10 * 2 * 34 + 40);
        assertThat(q4.parameterBytes()).isEqualTo(10 * 2 * 18);
        assertThat(q8.totalParameters()).isEqualTo(650);
        assertThat(q4.totalParameters()).isEqualTo(640);
        FloatMatrix d8 = q8.weight().dequantize();
        assertThat(q8.nonZeroParameters()).isEqualTo(d8.size() - d8.countZeros() + 1);
        FloatMatrix d4 = q4.weight().dequantize();
        assertThat(q4.nonZeroParameters()).isEqualTo(d4.size() - d4.countZeros());
        assertThat(QuantLinear.ofBlocks(QuantType.Q4_0, 10, 64, q4.weight().toByteArray(), null).weight().dequantize())
                .isEqualTo(d4);
    }

    @Test
    void badShapesAndBuffersAreRefusedWithTheRule() {
        assertThatThrownBy(() -> QuantLinear.quantize(QuantType.Q8_0, random(4, 48, 1), null))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("[4, 48]").hasMessageContaining("48 columns").hasMessageContaining("multiple of 32");
        assertThatThrownBy(() -> QuantMatrix.of(QuantType.Q4_0, 2, 64, new byte[71]))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("[2, 64] takes 72 bytes").hasMessageContaining("71 bytes were given");
        assertThatThrownBy(() -> new QuantLinear(QuantMatrix.quantize(QuantType.Q4_0, random(4, 32, 1)), new float[3]))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("bias has 3 entries");
        QuantLinear layer = QuantLinear.quantize(QuantType.Q8_0, random(4, 32, 1), null);
        assertThatThrownBy(() -> layer.forward(new float[32], 2, new float[8]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 32] in");
        assertThatThrownBy(() -> layer.forward(new float[32], 0, new float[8]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1");
    }
}
