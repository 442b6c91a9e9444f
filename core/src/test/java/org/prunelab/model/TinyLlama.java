package org.prunelab.model;

import org.prunelab.bench.RandomWeights;

/** Tiny random Llama models for algebra tests: hidden 32, head_dim 8, 2 layers, vocab 50. */
final class TinyLlama {
    private TinyLlama() {}

    static LlamaConfig config(int heads, int kvHeads, boolean tied, LlamaConfig.RopeScaling scaling) {
        return new LlamaConfig(32, 48, 2, heads, kvHeads, 8, 50, 64, 1e-5, 10000, scaling, tied, 1, 2);
    }

    static LlamaConfig config(int heads, int kvHeads) {
        return config(heads, kvHeads, true, null);
    }

    /** Weights N(0, 0.2): large enough that attention is far from uniform. */
    static LlamaModel model(LlamaConfig config, long seed) {
        return LlamaModel.fromTensors(config, new RandomWeights(config, seed, 0.2));
    }

    static int[] tokens(int n, long seed) {
        return new java.util.SplittableRandom(seed).ints(n, 0, 50).toArray();
    }
}
