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
                var smx = (com.sun.management.ThreadMXBean) mx;
                long al0 = smx.getCurrentThreadAllocatedBytes();
                a.scaledDotProduct(q, k[0], v[0], 1, depth - 1, out, 9, 3);
                long alloc = smx.getCurrentThreadAllocatedBytes() - al0;
                if (r >= 2) System.out.printf(Locale.ROOT, "  allocated %d bytes in one call (scratch %d)%n", alloc, 4L * a.decodeScratch(9, depth - 1));
                if (r >= 2) System.out.printf(Locale.ROOT, "%-14s wall %8.1f us, caller cpu %8.1f us per layer-step (wall x30 = %.2f ms/token)%n", m, us, cpu, us * 30 / 1e3);
            }
        }
    }
}
