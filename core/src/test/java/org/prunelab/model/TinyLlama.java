package org.prunelab.model;

import org.prunelab.arch.ModelLoader;
import org.prunelab.bench.RandomWeights;

/** Tiny random Llama models for algebra tests: hidden 32, head_dim 8, 2 layers, vocab 50. */
public final class TinyLlama {
    private TinyLlama() {}

    public static DecoderConfig config(int heads, int kvHeads, boolean tied, DecoderConfig.RopeScaling scaling) {
        return new DecoderConfig(32, 48, 2, heads, kvHeads, 8, 50, 64, 1e-5, 10000, scaling, tied, 1, 2);
    }

    public static DecoderConfig config(int heads, int kvHeads) {
        return config(heads, kvHeads, true, null);
    }

    /** Weights N(0, 0.2): large enough that attention is far from uniform. */
    public static DecoderModel model(DecoderConfig config, long seed) {
        return ModelLoader.build(config, new RandomWeights(config, seed, 0.2));
    }

    public static int[] tokens(int n, long seed) {
        return new java.util.SplittableRandom(seed).ints(n, 0, 50).toArray();
    }
}
