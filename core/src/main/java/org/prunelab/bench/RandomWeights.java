package org.prunelab.bench;

import org.prunelab.PrunelabException;
import org.prunelab.model.LlamaConfig;
import org.prunelab.model.TensorLookup;
import org.prunelab.tensor.FloatMatrix;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded random weights with a Llama config's exact tensor names and shapes, for speed measurements that
 * must not depend on a download: N(0, std) matrices and unit norm gains, like transformers' initialisation.
 */
public final class RandomWeights implements TensorLookup {
    private final Map<String, FloatMatrix> matrices = new HashMap<>();
    private final Map<String, float[]> vectors = new HashMap<>();

    /** Random tensors for {@code config}; {@code std} is the weights' standard deviation (transformers uses 0.02). */
    public RandomWeights(LlamaConfig config, long seed, double std) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int h = config.hiddenSize();
        put("model.embed_tokens.weight", config.vocabSize(), h, rnd, std);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            String p = "model.layers." + i + ".";
            put(p + "self_attn.q_proj.weight", config.qDim(), h, rnd, std);
            put(p + "self_attn.k_proj.weight", config.kvDim(), h, rnd, std);
            put(p + "self_attn.v_proj.weight", config.kvDim(), h, rnd, std);
            put(p + "self_attn.o_proj.weight", h, config.qDim(), rnd, std);
            put(p + "mlp.gate_proj.weight", config.intermediateSize(), h, rnd, std);
            put(p + "mlp.up_proj.weight", config.intermediateSize(), h, rnd, std);
            put(p + "mlp.down_proj.weight", h, config.intermediateSize(), rnd, std);
            vectors.put(p + "input_layernorm.weight", ones(h));
            vectors.put(p + "post_attention_layernorm.weight", ones(h));
        }
        vectors.put("model.norm.weight", ones(h));
        if (!config.tieWordEmbeddings()) put("lm_head.weight", config.vocabSize(), h, rnd, std);
    }

    @Override
    public FloatMatrix matrix(String hfName) {
        FloatMatrix m = matrices.get(hfName);
        if (m == null) throw new PrunelabException.ModelFormat("no random tensor named " + hfName);
        return m;
    }

    @Override
    public float[] vector(String hfName) {
        float[] v = vectors.get(hfName);
        if (v == null) throw new PrunelabException.ModelFormat("no random tensor named " + hfName);
        return v;
    }

    @Override
    public boolean has(String hfName) {
        return matrices.containsKey(hfName) || vectors.containsKey(hfName);
    }

    private void put(String name, int rows, int cols, SplittableRandom rnd, double std) {
        float[] data = new float[rows * cols];
        for (int i = 0; i < data.length; i++) data[i] = (float) (gaussian(rnd) * std);
        matrices.put(name, new FloatMatrix(rows, cols, data));
    }

    private static double gaussian(SplittableRandom rnd) {
        // Box-Muller; SplittableRandom has no nextGaussian before JDK 17's RandomGenerator default, which is slow here.
        double u = 1.0 - rnd.nextDouble();
        double v = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }
}
