package org.prunelab.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.prunelab.PrunelabException;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class RopeTest {

    @ParameterizedTest(name = "head_dim {0}")
    @ValueSource(ints = {8, 64, 70})
    void rotatesEachHalfPairByPositionTimesFrequency(int headDim) {
        // 8 exercises the scalar loop only; 64 and 70 the vector loop, 70 with a scalar tail.
        DecoderConfig c = new DecoderConfig(32, 48, 2, 3, 1, headDim, 50, 64, 1e-5, 10000, null, true, 1, 2);
        Rope rope = new Rope(c);
        int d = c.headDim(), half = d / 2, heads = c.numAttentionHeads(), tokens = 40, start = 17;
        Random rnd = new Random(1);
        float[] x = new float[tokens * heads * d];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] original = x.clone();
        rope.apply(x, tokens, heads, rope.table(start, tokens));
        for (int t = 0; t < tokens; t++) {
            for (int h = 0; h < heads; h++) {
                int base = (t * heads + h) * d;
                for (int i = 0; i < half; i++) {
                    // (x_i, x_{i+half}) as a complex number times e^{i * pos * theta^(-2i/d)}
                    double angle = (start + t) * Math.pow(c.ropeTheta(), -2.0 * i / d);
                    double re = original[base + i], im = original[base + half + i];
                    assertThat((double) x[base + i]).isCloseTo(re * Math.cos(angle) - im * Math.sin(angle), within(1e-5));
                    assertThat((double) x[base + half + i]).isCloseTo(im * Math.cos(angle) + re * Math.sin(angle), within(1e-5));
                }
            }
        }
    }

    @Test
    void linearScalingDividesEveryFrequency() {
        float[] plain = new Rope(TinyLlama.config(4, 2)).inverseFrequencies();
        var linear = new DecoderConfig.RopeScaling("linear", 4.0, 0, 0, 0);
        float[] scaled = new Rope(TinyLlama.config(4, 2, true, linear)).inverseFrequencies();
        for (int i = 0; i < plain.length; i++) assertThat(scaled[i]).isCloseTo(plain[i] / 4f, within(1e-7f));
    }

    @Test
    void llama3ScalingKeepsHighDividesLowAndBlendsTheMiddle() {
        // theta 10000, head_dim 8: wavelengths 2*pi, 62.8, 628, 6283. Context 8 with factors 1 and 4 puts
        // the first in the blended band (2 <= 6.28 <= 8) and the rest in the divided band.
        var llama3 = new DecoderConfig.RopeScaling("llama3", 4.0, 1.0, 4.0, 8);
        float[] plain = new Rope(TinyLlama.config(4, 2)).inverseFrequencies();
        float[] scaled = new Rope(TinyLlama.config(4, 2, true, llama3)).inverseFrequencies();
        double smooth = (8 / (2 * Math.PI) - 1) / (4 - 1);
        assertThat((double) scaled[0]).isCloseTo((1 - smooth) * plain[0] / 4 + smooth * plain[0], within(1e-6));
        for (int i = 1; i < plain.length; i++) assertThat(scaled[i]).isCloseTo(plain[i] / 4f, within(1e-9f));
        var wide = new DecoderConfig.RopeScaling("llama3", 4.0, 1.0, 4.0, 1);
        assertThat(new Rope(TinyLlama.config(4, 2, true, wide)).inverseFrequencies()[0]).isEqualTo(plain[0] / 4f);
    }

    @Test
    void unknownScalingIsAModelFormatError() {
        var yarn = new DecoderConfig.RopeScaling("yarn", 4.0, 0, 0, 0);
        assertThatThrownBy(() -> new Rope(TinyLlama.config(4, 2, true, yarn)))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("yarn");
    }
}
