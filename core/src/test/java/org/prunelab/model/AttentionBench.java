package org.prunelab.model;

import org.prunelab.tensor.DecodeExperiment;

import java.util.Locale;
import java.util.Random;

/** EXPERIMENT: one decode step's attention (9 heads, 3 kv heads, head_dim 64, depth 576), old vs new, alternating. */
public final class AttentionBench {
    public static void main(String[] args) {
        int depth = args.length > 0 ? Integer.parseInt(args[0]) : 576;
        Random rnd = new Random(1);
        int layers = 30;
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
                long t0 = System.nanoTime();
                for (int i = 0; i < reps; i++) for (int l = 0; l < layers; l++) a.scaledDotProduct(q, k[l], v[l], 1, depth - 1, out, 9, 3);
                double us = (System.nanoTime() - t0) / 1e3 / reps / layers;
                if (r >= 2) System.out.printf(Locale.ROOT, "%-14s %8.1f us per layer-step (x30 = %.2f ms/token)%n", m, us, us * 30 / 1e3);
            }
        }
    }
}
