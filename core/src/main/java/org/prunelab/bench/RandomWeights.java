package org.prunelab.bench;

import org.prunelab.PrunelabException;
import org.prunelab.arch.Architectures;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.LinearRole;
import org.prunelab.model.NormRole;
import org.prunelab.model.TensorNames;
import org.prunelab.model.Transformer;
import org.prunelab.io.TensorLookup;
import org.prunelab.tensor.FloatMatrix;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded random weights with a config's exact tensor names (its family's Hugging Face names) and shapes, for speed
 * and memory measurements that must not depend on a download, and for algebra tests: N(0, std) matrices and unit
 * norm gains, like transformers' initialisation. The tensors are as the model binds them (gains, not Gemma's
 * {@code w} of {@code 1 + w}); pass them to {@code ModelLoader.build}.
 */
public final class RandomWeights implements TensorLookup {
    private final Map<String, FloatMatrix> matrices = new HashMap<>();
    private final Map<String, float[]> vectors = new HashMap<>();

    /** Random tensors for {@code config}; {@code std} is the weights' standard deviation (transformers uses 0.02). */
    public RandomWeights(DecoderConfig config, long seed, double std) {
        TensorNames names = Architectures.of(config).hfNames();
        SplittableRandom rnd = new SplittableRandom(seed);
        int h = config.hiddenSize();
        put(names.embedTokens(), config.vocabSize(), h, rnd, std);
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            put(names.linear(i, LinearRole.Q) + ".weight", config.qDim(), h, rnd, std);
            put(names.linear(i, LinearRole.K) + ".weight", config.kvDim(), h, rnd, std);
            put(names.linear(i, LinearRole.V) + ".weight", config.kvDim(), h, rnd, std);
            put(names.linear(i, LinearRole.O) + ".weight", h, config.qDim(), rnd, std);
            put(names.linear(i, LinearRole.GATE) + ".weight", config.intermediateSize(), h, rnd, std);
            put(names.linear(i, LinearRole.UP) + ".weight", config.intermediateSize(), h, rnd, std);
            put(names.linear(i, LinearRole.DOWN) + ".weight", h, config.intermediateSize(), rnd, std);
            for (NormRole role : Transformer.normRoles(config.variant())) {
                int length = role == NormRole.QUERY || role == NormRole.KEY ? config.headDim() : h;
                vectors.put(names.norm(i, role), ones(length));
            }
        }
        vectors.put(names.finalNorm(), ones(h));
        if (!config.tieWordEmbeddings()) put(names.lmHead(), config.vocabSize(), h, rnd, std);
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
