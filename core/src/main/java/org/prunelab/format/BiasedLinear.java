package org.prunelab.format;

import org.prunelab.tensor.Linear;

/**
 * A bias-free layer in any format plus a bias {@code [out_features]}: {@code y = inner(x) + b}. Conversion keeps a
 * dense layer's bias (Qwen2's q/k/v, FLAP's compensation) this way, so every format holds biased layers.
 */
public final class BiasedLinear implements Linear {
    private final Linear inner;
    private final float[] bias;

    /**
     * @throws IllegalArgumentException if the bias length is not {@code inner.outFeatures()}
     */
    public BiasedLinear(Linear inner, float[] bias) {
        if (bias.length != inner.outFeatures()) {
            throw new IllegalArgumentException("bias has " + bias.length + " entries for " + inner.outFeatures() + " outputs");
        }
        this.inner = inner;
        this.bias = bias;
    }

    /** The bias-free layer. */
    public Linear inner() { return inner; }

    /** The bias (not a copy). */
    public float[] bias() { return bias; }

    @Override
    public int inFeatures() { return inner.inFeatures(); }

    @Override
    public int outFeatures() { return inner.outFeatures(); }

    @Override
    public void forward(float[] x, int tokens, float[] y) {
        inner.forward(x, tokens, y);
        int out = bias.length;
        for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) y[t * out + o] += bias[o];
        }
    }

    @Override
    public long parameterBytes() { return inner.parameterBytes() + 4L * bias.length; }

    @Override
    public long nonZeroParameters() {
        long n = inner.nonZeroParameters();
        for (float b : bias) if (b != 0f) n++;
        return n;
    }

    @Override
    public long totalParameters() { return inner.totalParameters() + bias.length; }

    @Override
    public String toString() { return "BiasedLinear[" + inner + "]"; }
}
