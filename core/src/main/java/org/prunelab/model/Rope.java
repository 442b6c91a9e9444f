package org.prunelab.model;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.Parallel;

import java.util.Locale;

/**
 * Rotary position embedding (Su et al. 2021, "RoFormer") in Hugging Face's rotate_half layout: a head
 * vector is split into halves {@code [x1, x2]} and rotated pairwise, {@code x1' = x1 cos - x2 sin},
 * {@code x2' = x2 cos + x1 sin}, where pair i turns by angle {@code position * invFreq[i]} and
 * {@code invFreq[i] = theta^(-2i / headDim)}. Frequencies and angles are rounded to float as transformers
 * does, so cos/sin tables match it. Scaling follows transformers' {@code modeling_rope_utils}:
 * "linear" divides every frequency by the factor; "llama3" (Llama 3.1) divides low frequencies by the
 * factor, keeps high ones, and interpolates smoothly in between.
 */
public final class Rope {
    /** Half a SmolLM2 head (32 floats) is two 512-bit or four 256-bit vectors. */
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private final int headDim;
    private final float[] invFreq;

    /** cos and sin of each position's angles, {@code [tokens, headDim / 2]}, for positions from startPos. */
    public record Table(int startPos, int tokens, float[] cos, float[] sin) {}

    /** The RoPE of a config's global-attention layers. @throws PrunelabException.ModelFormat for an odd head_dim or an unsupported rope_scaling type */
    public Rope(DecoderConfig config) {
        this(config.headDim(), config.ropeTheta(), config.ropeScaling());
    }

    /**
     * RoPE over heads of {@code headDim} with base {@code theta} and optional scaling.
     *
     * @throws PrunelabException.ModelFormat for an odd head_dim or an unsupported rope_scaling type
     */
    public Rope(int headDim, double theta, DecoderConfig.RopeScaling scaling) {
        this.headDim = headDim;
        if (headDim % 2 != 0) {
            throw new PrunelabException.ModelFormat("head_dim " + headDim + " is odd; RoPE needs an even head_dim");
        }
        this.invFreq = inverseFrequencies(headDim, theta, scaling);
    }

    /** Per-pair rotation frequencies {@code [headDim / 2]}, in radians per position (a copy). */
    public float[] inverseFrequencies() { return invFreq.clone(); }

    /** Angles for positions {@code startPos .. startPos + tokens - 1}. */
    public Table table(int startPos, int tokens) {
        int half = headDim / 2;
        float[] cos = new float[tokens * half];
        float[] sin = new float[tokens * half];
        for (int t = 0; t < tokens; t++) {
            float pos = startPos + t;
            for (int i = 0; i < half; i++) {
                float angle = pos * invFreq[i];
                cos[t * half + i] = (float) Math.cos(angle);
                sin[t * half + i] = (float) Math.sin(angle);
            }
        }
        return new Table(startPos, tokens, cos, sin);
    }

    /**
     * Rotates every head of every row in place.
     *
     * @param x     {@code [tokens, heads * headDim]}
     * @param table angles for those tokens (its {@code tokens} at least {@code tokens})
     */
    public void apply(float[] x, int tokens, int heads, Table table) {
        int half = headDim / 2;
        int width = heads * headDim;
        float[] cos = table.cos();
        float[] sin = table.sin();
        int vectorEnd = S.loopBound(half);
        Parallel.forRange(tokens, 32, (from, to) -> {
            for (int t = from; t < to; t++) {
                int angles = t * half;
                for (int h = 0; h < heads; h++) {
                    int base = t * width + h * headDim;
                    int i = 0;
                    for (; i < vectorEnd; i += S.length()) {
                        FloatVector x1 = FloatVector.fromArray(S, x, base + i);
                        FloatVector x2 = FloatVector.fromArray(S, x, base + half + i);
                        FloatVector c = FloatVector.fromArray(S, cos, angles + i);
                        FloatVector s = FloatVector.fromArray(S, sin, angles + i);
                        x1.mul(c).sub(x2.mul(s)).intoArray(x, base + i);
                        x2.mul(c).add(x1.mul(s)).intoArray(x, base + half + i);
                    }
                    for (; i < half; i++) {
                        float x1 = x[base + i];
                        float x2 = x[base + half + i];
                        float c = cos[angles + i];
                        float s = sin[angles + i];
                        x[base + i] = x1 * c - x2 * s;
                        x[base + half + i] = x2 * c + x1 * s;
                    }
                }
            }
        });
    }

    static float[] inverseFrequencies(int headDim, double theta, DecoderConfig.RopeScaling scaling) {
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            inv[i] = 1f / (float) Math.pow(theta, exponent);
        }
        if (scaling == null || scaling.type() == null) return inv;
        switch (scaling.type().toLowerCase(Locale.ROOT)) {
            case "default" -> { }
            case "linear" -> {
                for (int i = 0; i < half; i++) inv[i] = inv[i] / (float) scaling.factor();
            }
            case "llama3" -> applyLlama3(inv, scaling);
            default -> throw new PrunelabException.ModelFormat("rope_scaling type '" + scaling.type()
                    + "' is not supported; prunelab implements 'linear' and 'llama3'");
        }
        return inv;
    }

    private static void applyLlama3(float[] inv, DecoderConfig.RopeScaling s) {
        double factor = s.factor();
        double oldContext = s.originalMaxPositionEmbeddings();
        double lowFreqWavelen = oldContext / s.lowFreqFactor();
        double highFreqWavelen = oldContext / s.highFreqFactor();
        for (int i = 0; i < inv.length; i++) {
            double wavelen = 2 * Math.PI / inv[i];
            if (wavelen > lowFreqWavelen) {
                inv[i] = (float) (inv[i] / factor);
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (oldContext / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                inv[i] = (float) ((1 - smooth) * inv[i] / factor + smooth * inv[i]);
            }
        }
    }
}
