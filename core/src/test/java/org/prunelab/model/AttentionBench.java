package org.prunelab.model;

import org.prunelab.tensor.DecodeExperiment;

import java.util.Locale;
import java.util.Random;

/** EXPERIMENT: one decode step's attention (9 heads, 3 kv heads, head_dim 64, depth 576), old vs new, alternating. */
public final class AttentionBench {
    public static void main(String[] args) {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : 576;
        Random rnd = new Random(1);
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        // SmolLM2's head_dim is 64; TinyLlama's is 8, so build a config-like Attention through a SmolLM2-sized config.
        DecoderConfig smol = new DecoderConfig(576, 1536, 30, 9, 3, 64, 49152, 8192, 1e-5, 100000, null, true, 1, 2);
        Attention a = new Attention(smol, new Rope(smol), 0);
        int qDim = smol.qDim(), kvDim = smol.kvDim();
        float[] q = new float[qDim];
        float[][] k = new float[layers][depth * kvDim], v = new float[layers][depth * kvDim];
        for (int l = 0; l < layers; l++) for (int i = 0; i < k[l].length; i++) { k[l][i] = (float) rnd.nextGaussian(); v[l][i] = (float) rnd.nextGaussian(); }
        for (int i = 0; i < q.length; i++) q[i] = (float) rnd.nextGaussian();
        float[] out = new float[qDim];
        if (Boolean.getBoolean("parts")) {
            float[] sc = new float[9 * depth];
            var mx = java.lang.management.ManagementFactory.getThreadMXBean();
            for (int r = 0; r < 6; r++) {
                int reps = 2000;
                long c0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < reps; i++) for (int h = 0; h < 9; h++)
                    org.prunelab.tensor.VectorMath.dotRows(q, h * 64, k[0], (h / 3) * 64, kvDim, depth, 64, 0.125f, sc, h * depth);
                long c1 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < reps; i++) for (int h = 0; h < 9; h++) {
                    float m = org.prunelab.tensor.VectorMath.max(sc, h * depth, depth);
                    org.prunelab.tensor.VectorMath.expShiftedInPlace(sc, h * depth, depth, m);
                    org.prunelab.tensor.VectorMath.scale(sc, h * depth, depth, 1f / depth);
                }
                long c2 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < reps; i++) for (int h = 0; h < 9; h++)
                    org.prunelab.tensor.VectorMath.weightedRowSum(sc, h * depth, v[0], (h / 3) * 64, kvDim, depth, 64, out, h * 64);
                long c3 = mx.getCurrentThreadCpuTime();
                System.out.printf(Locale.ROOT, "parts (1 layer, in cache, cpu us per layer-step): dots %.1f, softmax %.1f, weighted sum %.1f%n",
                        (c1 - c0) / 1e3 / reps, (c2 - c1) / 1e3 / reps, (c3 - c2) / 1e3 / reps);
            }
            return;
        }
        String[] modes = {"oldAttention", "new"};
        for (int r = 0; r < 8; r++) {
            for (String m : modes) {
                DecodeExperiment.set(m);
                int reps = 200;
                var mx = java.lang.management.ManagementFactory.getThreadMXBean();
                long c0 = mx.getCurrentThreadCpuTime();
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) for (int l = 0; l < layers; l++) a.scaledDotProduct(q, k[l], v[l], 1, depth - 1, out, 9, 3);
                double us = (System.nanoTime() - t0) / 1e3 / reps / layers;
                double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e3 / reps / layers;
                if (r >= 2) System.out.printf(Locale.ROOT, "%-14s wall %8.1f us, caller cpu %8.1f us per layer-step (wall x30 = %.2f ms/token)%n", m, us, cpu, us * 30 / 1e3);
            }
        }
    }
}
