package org.prunelab.tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Every GEMM backend against the scalar reference, on shapes that do and do not fill whole vectors. */
class GemmTest {
    private static final int[][] SHAPES = {
            {1, 1, 1}, {1, 7, 5}, {3, 1, 17}, {4, 4, 16}, {5, 9, 33}, {13, 11, 64}, {8, 37, 70},
            {1, 100, 576}, {33, 29, 3}, {64, 80, 47}, {17, 129, 130}};

    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
        Gemm.setBlasThreading(Gemm.BlasThreading.OPENBLAS);
    }

    @ParameterizedTest
    @EnumSource(Gemm.BlasThreading.class)
    void bothBlasThreadingModesMatchTheReferenceOnTheCallerAndInsideWorkers(Gemm.BlasThreading threading) {
        Gemm.setBlasThreading(threading);
        Parallel.setThreads(2);
        Random rnd = new Random(5);
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                check(Gemm.of(Gemm.Backend.BLAS), Gemm.of(Gemm.Backend.SCALAR), rnd, 257, 190, 70, ta, tb, 1f, 0.5f);
            }
        }
        // Several large products at once from pool workers (as attention's heads do) stay correct.
        float[][] results = new float[4][];
        float[][] expected = new float[4][];
        Parallel.forRange(4, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                Random r = new Random(100 + i);
                float[] a = new float[200 * 96], b = new float[160 * 96];
                for (int j = 0; j < a.length; j++) a[j] = (float) r.nextGaussian();
                for (int j = 0; j < b.length; j++) b[j] = (float) r.nextGaussian();
                results[i] = new float[200 * 160];
                expected[i] = new float[200 * 160];
                Gemm.of(Gemm.Backend.BLAS).sgemm(false, true, 200, 160, 96, 1f, a, 0, 96, b, 0, 96, 0f, results[i], 0, 160);
                Gemm.of(Gemm.Backend.SCALAR).sgemm(false, true, 200, 160, 96, 1f, a, 0, 96, b, 0, 96, 0f, expected[i], 0, 160);
            }
        });
        for (int i = 0; i < 4; i++) assertClose(results[i], expected[i], 96);
    }

    @ParameterizedTest
    @EnumSource(value = Gemm.Backend.class, names = {"VECTOR", "BLAS"})
    void matchesReferenceForEveryTransposeAndShape(Gemm.Backend backend) {
        Gemm fast = Gemm.of(backend);
        Gemm ref = Gemm.of(Gemm.Backend.SCALAR);
        Random rnd = new Random(42);
        for (int[] s : SHAPES) {
            for (boolean ta : new boolean[]{false, true}) {
                for (boolean tb : new boolean[]{false, true}) {
                    for (float beta : new float[]{0f, 0.5f}) {
                        check(fast, ref, rnd, s[0], s[1], s[2], ta, tb, 1.3f, beta);
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Gemm.Backend.class, names = {"VECTOR", "BLAS"})
    void largeProductsSplitAcrossThreadsByRowsOrColumns(Gemm.Backend backend) {
        Parallel.setThreads(3);
        Random rnd = new Random(11);
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                check(Gemm.of(backend), Gemm.of(Gemm.Backend.SCALAR), rnd, 301, 203, 41, ta, tb, 1f, 0f);  // rows
                check(Gemm.of(backend), Gemm.of(Gemm.Backend.SCALAR), rnd, 3, 1999, 301, ta, tb, 1f, 0.5f); // columns
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Gemm.Backend.class, names = {"VECTOR", "BLAS"})
    void stridedOffsetsAddressOneHeadOfAWiderMatrix(Gemm.Backend backend) {
        // Q [t, heads*hd] times K [t, kvHeads*hd]^T for head 2 / kv head 1, written into a wider C.
        Random rnd = new Random(7);
        int t = 23, hd = 20, qw = 4 * hd, kw = 2 * hd, ldc = 31;
        float[] q = rand(rnd, t * qw), k = rand(rnd, t * kw);
        float[] c1 = rand(rnd, t * ldc + 5), c2 = c1.clone();
        Gemm.of(backend).sgemm(false, true, t, t, hd, 0.25f, q, 2 * hd, qw, k, hd, kw, 0f, c1, 5, ldc);
        Gemm.of(Gemm.Backend.SCALAR).sgemm(false, true, t, t, hd, 0.25f, q, 2 * hd, qw, k, hd, kw, 0f, c2, 5, ldc);
        assertClose(c1, c2, hd);
    }

    @Test
    void vectorKernelAgreesOnOneThreadAndMany() {
        Random rnd = new Random(3);
        int m = 67, n = 45, k = 129;
        float[] a = rand(rnd, m * k), b = rand(rnd, n * k);
        float[] c1 = new float[m * n], c2 = new float[m * n], c3 = new float[n];
        Parallel.setThreads(1);
        Gemm.of(Gemm.Backend.VECTOR).sgemm(false, true, m, n, k, 1f, a, 0, k, b, 0, k, 0f, c1, 0, n);
        Parallel.setThreads(3);
        Gemm.of(Gemm.Backend.VECTOR).sgemm(false, true, m, n, k, 1f, a, 0, k, b, 0, k, 0f, c2, 0, n);
        Gemm.of(Gemm.Backend.VECTOR).sgemm(false, true, 1, n, k, 1f, a, 0, k, b, 0, k, 0f, c3, 0, n);
        assertThat(c2).containsExactly(c1);
        for (int j = 0; j < n; j++) assertThat(c3[j]).isEqualTo(c1[j]);
    }

    @Test
    void betaZeroIgnoresGarbageInC() {
        float[] a = {1, 2}, b = {3, 4};
        for (Gemm.Backend backend : Gemm.Backend.values()) {
            float[] c = {Float.NaN};
            Gemm.of(backend).sgemm(false, false, 1, 1, 2, 1f, a, 0, 2, b, 0, 1, 0f, c, 0, 1);
            assertThat(c[0]).as(backend.name()).isEqualTo(11f);
        }
    }

    @Test
    void linearIsXTimesWTransposed() {
        FloatMatrix w = new FloatMatrix(2, 3, new float[]{1, 0, 2, 0, 1, -1});
        float[] x = {1, 2, 3, 4, 5, 6};
        float[] y = new float[4];
        Gemm.of(Gemm.Backend.SCALAR).linear(x, 2, w, y);
        assertThat(y).containsExactly(7, -1, 16, -1);
    }

    @Test
    void rejectsArraysTooShort() {
        assertThatThrownBy(() -> Gemm.of(Gemm.Backend.VECTOR).sgemm(false, false, 2, 2, 2, 1f,
                new float[3], 0, 2, new float[4], 0, 2, 0f, new float[4], 0, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("A [2, 2]");
    }

    private static void check(Gemm fast, Gemm ref, Random rnd, int m, int n, int k, boolean ta, boolean tb,
                              float alpha, float beta) {
        int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
        float[] a = rand(rnd, (ta ? k : m) * lda + 1);
        float[] b = rand(rnd, (tb ? n : k) * ldb + 2);
        float[] c1 = rand(rnd, m * ldc + 1);
        float[] c2 = c1.clone();
        fast.sgemm(ta, tb, m, n, k, alpha, a, 1, lda, b, 2, ldb, beta, c1, 1, ldc);
        ref.sgemm(ta, tb, m, n, k, alpha, a, 1, lda, b, 2, ldb, beta, c2, 1, ldc);
        assertClose(c1, c2, k);
    }

    private static void assertClose(float[] actual, float[] expected, int k) {
        double tol = 1e-5 * Math.sqrt(k) * 4;
        for (int i = 0; i < actual.length; i++) {
            assertThat(actual[i]).as("element %d", i).isCloseTo(expected[i], within((float) (tol * (1 + Math.abs(expected[i])))));
        }
    }

    private static float[] rand(Random rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
