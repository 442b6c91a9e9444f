package org.prunelab.model;

import java.util.Locale;
import java.util.Random;

/**
 * One decode step's attention on SmolLM2-135M's shape (9 query heads, 3 key/value heads, head_dim 64) at a given depth,
 * over {@code layers} separate caches so that, with enough of them, the keys and values come from memory as in a real
 * decode step. Prints wall and calling-thread CPU time per layer-step and the bytes allocated per call beyond the
 * scratch. Not a test; run by hand: {@code org.prunelab.model.AttentionBench [depth] [layers]} ({@code
 * -Dprunelab.threads=1} for one thread).
 */
public final class AttentionBench {
    public static void main(String[] args) {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : 576;
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        Random rnd = new Random(1);
        DecoderConfig smol = new DecoderConfig(576, 1536, 30, 9, 3, 64, 49152, 8192, 1e-5, 100000, null, true, 1, 2);
        Attention a = new Attention(smol, new Rope(smol), 0);
        int qDim = smol.qDim(), kvDim = smol.kvDim();
        float[] q = new float[qDim];
        float[][] k = new float[layers][depth * kvDim], v = new float[layers][depth * kvDim];
        for (int l = 0; l < layers; l++) {
            for (int i = 0; i < k[l].length; i++) {
                k[l][i] = (float) rnd.nextGaussian();
                v[l][i] = (float) rnd.nextGaussian();
            }
        }
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        float[] out = new float[qDim];
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        for (int r = 0; r < 8; r++) {
            int reps = 200;
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            for (int i = 0; i < reps; i++) for (int l = 0; l < layers; l++) a.scaledDotProduct(q, k[l], v[l], 1, depth - 1, out, 9, 3);
            double us = (System.nanoTime() - t0) / 1e3 / reps / layers;
            double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e3 / reps / layers;
            long al0 = mx.getCurrentThreadAllocatedBytes();
            a.scaledDotProduct(q, k[0], v[0], 1, depth - 1, out, 9, 3);
            long alloc = mx.getCurrentThreadAllocatedBytes() - al0 - 4L * a.decodeScratch(9, depth - 1);
            if (r >= 2) {
                System.out.printf(Locale.ROOT, "wall %8.1f us, caller cpu %8.1f us per layer-step (x30 = %.2f ms/token), %d bytes allocated beyond the scratch%n",
                        us, cpu, us * 30 / 1e3, alloc);
            }
        }
    }
}
