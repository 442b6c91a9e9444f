package org.prunelab.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The experiment behind {@link Matvec}'s kernel: batch-1 matvec kernels on SmolLM2-135M's shapes (30 blocks of q, k, v, o, gate, up, down and the LM head, 538 MB,
 * far beyond the caches), streamed in decode order; variants run in a shuffled order each round in one JVM ({@code
 * -Dvariants=sum,rows4x1,rows4x2,matvec}, {@code -Dpasses=N}). Prints GB/s of weights streamed per variant; {@code sum}
 * reads the same bytes with no multiply (the bandwidth ceiling); {@code matvec} is {@link Matvec#rows}, the kernel
 * chosen (one row at a time, four accumulators). Not a test; run by hand with
 * {@code org.prunelab.tensor.MatvecBench [rounds]}.
 */
public final class MatvecBench {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();

    interface Kernel { void rows(float[] w, int r0, int r1, int k, float[] x, float[] y); }

    public static void main(String[] args) {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int[][] shapes = {{576, 576}, {192, 576}, {192, 576}, {576, 576}, {1536, 576}, {1536, 576}, {576, 1536}};
        int layers = 30;
        SplittableRandom rnd = new SplittableRandom(1);
        float[][] w = new float[layers * shapes.length + 1][];
        int[][] dims = new int[w.length][];
        for (int l = 0; l < layers; l++) {
            for (int s = 0; s < shapes.length; s++) {
                dims[l * shapes.length + s] = shapes[s];
            }
        }
        dims[w.length - 1] = new int[]{49152, 576};
        long bytes = 0;
        for (int i = 0; i < w.length; i++) {
            w[i] = new float[dims[i][0] * dims[i][1]];
            for (int j = 0; j < w[i].length; j++) w[i][j] = (float) rnd.nextGaussian();
            bytes += 4L * w[i].length;
        }
        float[] x = new float[1536];
        for (int j = 0; j < x.length; j++) x[j] = (float) rnd.nextGaussian();
        float[] y = new float[49152];
        String[] all = {"gemm", "sum", "rows4x1", "rows4x2", "rows8x1", "rows2x4", "row1x8", "row1x2", "matvec"};
        Kernel[] allKernels = {null, MatvecBench::sum, MatvecBench::rows4x1, MatvecBench::rows4x2,
                MatvecBench::rows8x1, MatvecBench::rows2x4, MatvecBench::row1x8, MatvecBench::row1x2,
                (ww, r0, r1, k, xx, yy) -> Matvec.rows(ww, k, r0, r1, xx, 0, yy, 0)};
        String[] names = System.getProperty("variants", String.join(",", all)).split(",");
        Kernel[] kernels = new Kernel[names.length];
        for (int i = 0; i < names.length; i++) kernels[i] = allKernels[java.util.Arrays.asList(all).indexOf(names[i])];
        double[][] seconds = new double[names.length][rounds];
        int passes = Integer.getInteger("passes", 2);
        java.util.Random order = new java.util.Random(3);
        for (int r = -2; r < rounds; r++) {
            java.util.List<Integer> perm = new java.util.ArrayList<>();
            for (int v = 0; v < names.length; v++) perm.add(v);
            java.util.Collections.shuffle(perm, order);
            for (int v : perm) {
                long t0 = System.nanoTime();
                for (int p = 0; p < passes; p++) {
                    for (int i = 0; i < w.length; i++) {
                        int out = dims[i][0], in = dims[i][1];
                        if (kernels[v] == null) {
                            VectorGemm.PARALLEL.linear(x, 1, new FloatMatrix(out, in, w[i]), y);
                        } else {
                            float[] wi = w[i];
                            Kernel k = kernels[v];
                            Parallel.forRange(out, 16, (a, b) -> k.rows(wi, a, b, in, x, y));
                        }
                    }
                }
                if (r >= 0) seconds[v][r] = (System.nanoTime() - t0) / 1e9 / passes;
            }
        }
        System.out.printf(Locale.ROOT, "threads %d, %.1f MB per pass%n", Parallel.threads(), bytes / 1e6);
        for (int v = 0; v < names.length; v++) {
            double[] s = seconds[v].clone();
            Arrays.sort(s);
            System.out.printf(Locale.ROOT, "%-8s median %6.2f ms/pass %6.1f GB/s (best %6.1f)%n", names[v],
                    1e3 * s[s.length / 2], bytes / 1e9 / s[s.length / 2], bytes / 1e9 / s[0]);
        }
    }

    /** Bandwidth ceiling: reads the rows as a matvec would, no x. */
    static void sum(float[] w, int r0, int r1, int k, float[] x, float[] y) {
        int from = r0 * k, to = r1 * k;
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int i = from;
        for (; i + 4 * V <= to; i += 4 * V) {
            a0 = a0.add(FloatVector.fromArray(S, w, i));
            a1 = a1.add(FloatVector.fromArray(S, w, i + V));
            a2 = a2.add(FloatVector.fromArray(S, w, i + 2 * V));
            a3 = a3.add(FloatVector.fromArray(S, w, i + 3 * V));
        }
        y[r0] = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)));
    }

    static void rows4x1(float[] w, int r0, int r1, int k, float[] x, float[] y) {
        int kv = S.loopBound(k);
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            int b0 = r * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
            for (int p = 0; p < kv; p += V) {
                FloatVector xv = FloatVector.fromArray(S, x, p);
                c0 = xv.fma(FloatVector.fromArray(S, w, b0 + p), c0);
                c1 = xv.fma(FloatVector.fromArray(S, w, b1 + p), c1);
                c2 = xv.fma(FloatVector.fromArray(S, w, b2 + p), c2);
                c3 = xv.fma(FloatVector.fromArray(S, w, b3 + p), c3);
            }
            y[r] = VectorMath.sumLanes(c0);
            y[r + 1] = VectorMath.sumLanes(c1);
            y[r + 2] = VectorMath.sumLanes(c2);
            y[r + 3] = VectorMath.sumLanes(c3);
        }
        Matvec.rows(w, k, r, r1, x, 0, y, 0); // the leftover rows through the chosen kernel
    }

    static void rows4x2(float[] w, int r0, int r1, int k, float[] x, float[] y) {
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            int b0 = r * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k;
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
            int p = 0;
            for (; p + 2 * V <= k; p += 2 * V) {
                FloatVector xv = FloatVector.fromArray(S, x, p);
                FloatVector xw = FloatVector.fromArray(S, x, p + V);
                c0 = xv.fma(FloatVector.fromArray(S, w, b0 + p), c0);
                c1 = xv.fma(FloatVector.fromArray(S, w, b1 + p), c1);
                c2 = xv.fma(FloatVector.fromArray(S, w, b2 + p), c2);
                c3 = xv.fma(FloatVector.fromArray(S, w, b3 + p), c3);
                d0 = xw.fma(FloatVector.fromArray(S, w, b0 + p + V), d0);
                d1 = xw.fma(FloatVector.fromArray(S, w, b1 + p + V), d1);
                d2 = xw.fma(FloatVector.fromArray(S, w, b2 + p + V), d2);
                d3 = xw.fma(FloatVector.fromArray(S, w, b3 + p + V), d3);
            }
            for (; p + V <= k; p += V) {
                FloatVector xv = FloatVector.fromArray(S, x, p);
                c0 = xv.fma(FloatVector.fromArray(S, w, b0 + p), c0);
                c1 = xv.fma(FloatVector.fromArray(S, w, b1 + p), c1);
                c2 = xv.fma(FloatVector.fromArray(S, w, b2 + p), c2);
                c3 = xv.fma(FloatVector.fromArray(S, w, b3 + p), c3);
            }
            y[r] = VectorMath.sumLanes(c0.add(d0));
            y[r + 1] = VectorMath.sumLanes(c1.add(d1));
            y[r + 2] = VectorMath.sumLanes(c2.add(d2));
            y[r + 3] = VectorMath.sumLanes(c3.add(d3));
        }
        Matvec.rows(w, k, r, r1, x, 0, y, 0); // the leftover rows through the chosen kernel
    }

    static void rows8x1(float[] w, int r0, int r1, int k, float[] x, float[] y) {
        int kv = S.loopBound(k);
        int r = r0;
        for (; r + 8 <= r1; r += 8) {
            int b0 = r * k, b1 = b0 + k, b2 = b1 + k, b3 = b2 + k, b4 = b3 + k, b5 = b4 + k, b6 = b5 + k, b7 = b6 + k;
            FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
            for (int p = 0; p < kv; p += V) {
                FloatVector xv = FloatVector.fromArray(S, x, p);
                c0 = xv.fma(FloatVector.fromArray(S, w, b0 + p), c0);
                c1 = xv.fma(FloatVector.fromArray(S, w, b1 + p), c1);
                c2 = xv.fma(FloatVector.fromArray(S, w, b2 + p), c2);
                c3 = xv.fma(FloatVector.fromArray(S, w, b3 + p), c3);
                c4 = xv.fma(FloatVector.fromArray(S, w, b4 + p), c4);
                c5 = xv.fma(FloatVector.fromArray(S, w, b5 + p), c5);
                c6 = xv.fma(FloatVector.fromArray(S, w, b6 + p), c6);
                c7 = xv.fma(FloatVector.fromArray(S, w, b7 + p), c7);
            }
            y[r] = VectorMath.sumLanes(c0);
            y[r + 1] = VectorMath.sumLanes(c1);
            y[r + 2] = VectorMath.sumLanes(c2);
            y[r + 3] = VectorMath.sumLanes(c3);
            y[r + 4] = VectorMath.sumLanes(c4);
            y[r + 5] = VectorMath.sumLanes(c5);
            y[r + 6] = VectorMath.sumLanes(c6);
            y[r + 7] = VectorMath.sumLanes(c7);
        }
        Matvec.rows(w, k, r, r1, x, 0, y, 0); // the leftover rows through the chosen kernel
    }

    static void rows2x4(float[] w, int r0, int r1, int k, float[] x, float[] y) {
        int r = r0;
        for (; r + 2 <= r1; r += 2) {
            int b0 = r * k, b1 = b0 + k;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
            int p = 0;
            for (; p + 4 * V <= k; p += 4 * V) {
                FloatVector x0 = FloatVector.fromArray(S, x, p), x1 = FloatVector.fromArray(S, x, p + V),
                        x2 = FloatVector.fromArray(S, x, p + 2 * V), x3 = FloatVector.fromArray(S, x, p + 3 * V);
                a0 = x0.fma(FloatVector.fromArray(S, w, b0 + p), a0);
                a1 = x1.fma(FloatVector.fromArray(S, w, b0 + p + V), a1);
                a2 = x2.fma(FloatVector.fromArray(S, w, b0 + p + 2 * V), a2);
                a3 = x3.fma(FloatVector.fromArray(S, w, b0 + p + 3 * V), a3);
                c0 = x0.fma(FloatVector.fromArray(S, w, b1 + p), c0);
                c1 = x1.fma(FloatVector.fromArray(S, w, b1 + p + V), c1);
                c2 = x2.fma(FloatVector.fromArray(S, w, b1 + p + 2 * V), c2);
                c3 = x3.fma(FloatVector.fromArray(S, w, b1 + p + 3 * V), c3);
            }
            for (; p + V <= k; p += V) {
                FloatVector xv = FloatVector.fromArray(S, x, p);
                a0 = xv.fma(FloatVector.fromArray(S, w, b0 + p), a0);
                c0 = xv.fma(FloatVector.fromArray(S, w, b1 + p), c0);
            }
            y[r] = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)));
            y[r + 1] = VectorMath.sumLanes(c0.add(c1).add(c2.add(c3)));
        }
        Matvec.rows(w, k, r, r1, x, 0, y, 0); // the leftover rows through the chosen kernel
    }

    static void row1x8(float[] w, int r0, int r1, int k, float[] x, float[] y) {
        for (int r = r0; r < r1; r++) {
            int off = r * k;
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            int p = 0;
            for (; p + 8 * V <= k; p += 8 * V) {
                a0 = FloatVector.fromArray(S, x, p).fma(FloatVector.fromArray(S, w, off + p), a0);
                a1 = FloatVector.fromArray(S, x, p + V).fma(FloatVector.fromArray(S, w, off + p + V), a1);
                a2 = FloatVector.fromArray(S, x, p + 2 * V).fma(FloatVector.fromArray(S, w, off + p + 2 * V), a2);
                a3 = FloatVector.fromArray(S, x, p + 3 * V).fma(FloatVector.fromArray(S, w, off + p + 3 * V), a3);
                a4 = FloatVector.fromArray(S, x, p + 4 * V).fma(FloatVector.fromArray(S, w, off + p + 4 * V), a4);
                a5 = FloatVector.fromArray(S, x, p + 5 * V).fma(FloatVector.fromArray(S, w, off + p + 5 * V), a5);
                a6 = FloatVector.fromArray(S, x, p + 6 * V).fma(FloatVector.fromArray(S, w, off + p + 6 * V), a6);
                a7 = FloatVector.fromArray(S, x, p + 7 * V).fma(FloatVector.fromArray(S, w, off + p + 7 * V), a7);
            }
            for (; p + V <= k; p += V) a0 = FloatVector.fromArray(S, x, p).fma(FloatVector.fromArray(S, w, off + p), a0);
            float s = VectorMath.sumLanes(a0.add(a1).add(a2.add(a3)).add(a4.add(a5).add(a6.add(a7))));
            for (; p < k; p++) s += x[p] * w[off + p];
            y[r] = s;
        }
    }

    static void row1x2(float[] w, int r0, int r1, int k, float[] x, float[] y) {
        for (int r = r0; r < r1; r++) {
            int off = r * k;
            FloatVector a0 = FloatVector.zero(S), a1 = a0;
            int p = 0;
            for (; p + 2 * V <= k; p += 2 * V) {
                a0 = FloatVector.fromArray(S, x, p).fma(FloatVector.fromArray(S, w, off + p), a0);
                a1 = FloatVector.fromArray(S, x, p + V).fma(FloatVector.fromArray(S, w, off + p + V), a1);
            }
            for (; p + V <= k; p += V) a0 = FloatVector.fromArray(S, x, p).fma(FloatVector.fromArray(S, w, off + p), a0);
            float s = VectorMath.sumLanes(a0.add(a1));
            for (; p < k; p++) s += x[p] * w[off + p];
            y[r] = s;
        }
    }
}
