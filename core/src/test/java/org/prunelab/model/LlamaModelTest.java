package org.prunelab.model;

import org.prunelab.arch.ModelLoader;
import org.prunelab.io.TensorLookup;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.prunelab.PrunelabException;
import org.prunelab.bench.RandomWeights;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LlamaModelTest {
    private final Gemm.Backend initial = Gemm.active().backend();

    @AfterEach
    void restoreBackend() {
        Gemm.setActive(initial);
    }

    @ParameterizedTest(name = "heads {0}, kv heads {1}")
    @CsvSource({"4, 4", "4, 2", "4, 1"})
    void decodingTokenByTokenEqualsPrefillLogits(int heads, int kvHeads) {
        DecoderModel model = TinyLlama.model(TinyLlama.config(heads, kvHeads), 11);
        int[] tokens = TinyLlama.tokens(20, 5);
        float[] all = model.logits(tokens);
        int vocab = model.config().vocabSize();

        KvCache cache = model.newCache(tokens.length);
        for (int t = 0; t < tokens.length; t++) {
            float[] step = model.decode(tokens[t], cache);
            assertRowClose(step, all, t * vocab, 1e-4, "decode step " + t);
        }
        assertThat(cache.length()).isEqualTo(tokens.length);

        // A prompt prefilled into the cache, then decoding, gives the same rows again.
        KvCache mixed = model.newCache(tokens.length);
        float[] last = model.prefill(java.util.Arrays.copyOf(tokens, 13), mixed);
        assertRowClose(last, all, 12 * vocab, 1e-4, "prefill of 13");
        for (int t = 13; t < tokens.length; t++) {
            assertRowClose(model.decode(tokens[t], mixed), all, t * vocab, 1e-4, "decode after prefill " + t);
        }
    }

    @Test
    void tokenNllIsLogSoftmaxCrossEntropyOfTheLogits() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 3);
        int[] tokens = TinyLlama.tokens(17, 9);
        float[] logits = model.logits(tokens);
        double[] nll = model.tokenNll(tokens);
        int vocab = model.config().vocabSize();
        assertThat(nll).hasSize(tokens.length - 1);
        for (int t = 0; t < tokens.length - 1; t++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) max = Math.max(max, logits[t * vocab + j]);
            double sum = 0;
            for (int j = 0; j < vocab; j++) sum += Math.exp(logits[t * vocab + j] - max);
            double expected = max + Math.log(sum) - logits[t * vocab + tokens[t + 1]];
            assertThat(nll[t]).as("position %d", t).isCloseTo(expected, within(1e-4));
        }
    }

    @Test
    void blasAndVectorBackendsGiveTheSameForward() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 21);
        int[] tokens = TinyLlama.tokens(37, 2);
        Gemm.setActive(Gemm.Backend.BLAS);
        float[] blas = model.logits(tokens);
        Gemm.setActive(Gemm.Backend.VECTOR);
        float[] vector = model.logits(tokens);
        Gemm.setActive(Gemm.Backend.SCALAR);
        float[] scalar = model.logits(tokens);
        assertRowClose(vector, blas, 0, 1e-4, "vector vs blas");
        assertRowClose(scalar, blas, 0, 1e-4, "scalar vs blas");
    }

    @Test
    void observerSeesEveryLinearInputWithItsShape() {
        DecoderConfig config = TinyLlama.config(4, 2);
        DecoderModel model = TinyLlama.model(config, 4);
        int[] tokens = TinyLlama.tokens(9, 1);
        float[] hidden = model.embed(tokens);
        float[] expectedQInput = new float[hidden.length];
        model.block(0).norm(org.prunelab.model.NormRole.ATTENTION_INPUT).forward(hidden, tokens.length, expectedQInput);

        List<String> seen = new ArrayList<>();
        float[][] qInput = new float[1][];
        LinearInputObserver observer = (layer, name, x, rows, in) -> {
            seen.add(layer + ":" + name + ":" + rows + "x" + in);
            if (name.equals("q_proj")) qInput[0] = java.util.Arrays.copyOf(x, rows * in);
        };
        model.runBlock(0, hidden, tokens.length, 0, observer);

        int h = config.hiddenSize();
        assertThat(seen).containsExactly(
                "0:q_proj:9x" + h, "0:k_proj:9x" + h, "0:v_proj:9x" + h, "0:o_proj:9x" + config.qDim(),
                "0:gate_proj:9x" + h, "0:up_proj:9x" + h, "0:down_proj:9x" + config.intermediateSize());
        assertThat(qInput[0]).containsExactly(expectedQInput);
    }

    @Test
    void runningBlocksOneByOneReproducesTheLogits() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2, false, null), 8);
        int[] tokens = TinyLlama.tokens(12, 3);
        float[] hidden = model.embed(tokens);
        for (int l = 0; l < model.blocks().size(); l++) model.runBlock(l, hidden, tokens.length, 0, null);
        model.applyFinalNorm(hidden, tokens.length);
        float[] logits = new float[tokens.length * model.config().vocabSize()];
        model.lmHead().forward(hidden, tokens.length, logits);
        assertThat(logits).containsExactly(model.logits(tokens));
    }

    @Test
    void replacingALinearWithAnEquivalentOneKeepsTheOutput() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 6);
        int[] tokens = TinyLlama.tokens(10, 4);
        float[] before = model.logits(tokens);
        for (DecoderBlock block : model.blocks()) {
            for (String name : org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames()) {
                DenseLinear old = (DenseLinear) block.linear(name);
                block.setLinear(name, new DenseLinear(old.weight().copy(), null));
                assertThat(block.linear(name)).isNotSameAs(old);
            }
        }
        assertThat(model.logits(tokens)).containsExactly(before);

        // And a changed one does change it: the swap is really used.
        DenseLinear down = (DenseLinear) model.block(1).linear("down_proj");
        FloatMatrix zeroed = FloatMatrix.zeros(down.outFeatures(), down.inFeatures());
        model.block(1).setLinear("down_proj", new DenseLinear(zeroed, null));
        assertThat(model.logits(tokens)).isNotEqualTo(before);
    }

    @Test
    void linearsAreExposedByHuggingFaceName() {
        DecoderConfig config = TinyLlama.config(4, 2);
        DecoderBlock block = TinyLlama.model(config, 1).block(0);
        assertThat(block.linears().keySet()).containsExactlyElementsOf(org.prunelab.arch.StandardArchitecture.LAYOUT.linearNames());
        assertThat(block.linear("k_proj").outFeatures()).isEqualTo(config.kvDim());
        assertThat(block.linear("down_proj").inFeatures()).isEqualTo(config.intermediateSize());
        assertThatThrownBy(() -> block.linear("w1")).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("q_proj");
        assertThatThrownBy(() -> block.setLinear("q_proj", block.linear("k_proj")))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("keep the shape");
    }

    @Test
    void userErrorsSayWhatToDo() {
        DecoderConfig config = TinyLlama.config(4, 2);
        DecoderModel model = TinyLlama.model(config, 1);
        assertThatThrownBy(() -> model.logits(new int[]{3, 50}))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("position 1");
        KvCache cache = model.newCache(2);
        model.prefill(new int[]{1, 2}, cache);
        assertThatThrownBy(() -> model.decode(3, cache))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("newCache(3)");
        RandomWeights weights = new RandomWeights(config, 1, 0.2);
        TensorLookup missing = new TensorLookup() {
            public FloatMatrix matrix(String n) { return weights.matrix(n); }
            public float[] vector(String n) { return weights.vector(n); }
            public boolean has(String n) { return !n.equals("model.layers.1.mlp.up_proj.weight") && weights.has(n); }
        };
        assertThatThrownBy(() -> ModelLoader.build(config, missing))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("model.layers.1.mlp.up_proj.weight");
        DecoderConfig wider = TinyLlama.config(4, 4);
        assertThatThrownBy(() -> ModelLoader.build(wider, weights))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("k_proj");
    }

    static void assertRowClose(float[] actual, float[] expected, int expectedOffset, double tol, String what) {
        for (int j = 0; j < actual.length; j++) {
            assertThat((double) actual[j]).as("%s, element %d", what, j)
                    .isCloseTo(expected[expectedOffset + j], within(tol));
        }
    }
}
