package org.prunelab.prune;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.prunelab.TestModels;
import org.prunelab.arch.ModelLoader;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Corpus;
import org.prunelab.data.Datasets;
import org.prunelab.data.Window;
import org.prunelab.eval.Evaluation;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LoadedModel;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * The paper's claim on a real layer (Frantar et al. 2023, Sec. 5: GPTQ's layer-wise error is far below round-to-nearest's):
 * every linear of SmolLM2-135M's blocks 0 and 15, calibrated on 64 x 128 tokens of Brown's calibration split (seed 0);
 * the error {@code ||W X - Q X||^2} of GPTQ and of llama.cpp's RTN on 4 x 128 held-out tokens of Brown's evaluation
 * split, for Q4_0 and Q8_0 (the fixtures of {@link GptqReferenceTest} check the calibration-token error). Runs where
 * {@code ./prunelab setup} fetched the model.
 *
 * <p>With 16 x 128 calibration tokens GPTQ's Q8_0 down_proj (1536 inputs) of block 0 was 8% <em>worse</em> than RTN on
 * held-out tokens while 4x better on its own calibration tokens: too few tokens for a 1536-dimensional Hessian.
 */
class GptqRealLayerTest {
    private static LoadedModel loaded;
    private static final int[] LAYERS = {0, 15};
    /** layer -> input-group owner -> Hessian of the calibration inputs. */
    private static final Map<Integer, Map<String, HessianStats>> CALIB = new HashMap<>();
    /** layer -> input-group owner -> held-out inputs, {@code [tokens, in]} per window. */
    private static final Map<Integer, Map<String, List<float[]>>> HELD_OUT = new HashMap<>();

    @BeforeAll
    static void capture() {
        PrunelabHome home = new PrunelabHome(TestModels.home());
        loaded = ModelLoader.load(TestModels.smollm2Gguf().toString(), home);
        TestModels.corpus("corpora/brown");
        Corpus brown = Datasets.resolve("brown", home);
        List<Window> calib = CalibrationData.sample(brown, loaded.tokenizer()::encodeWithDefaults, 64, 128, 0);
        List<Window> held = Evaluation.windows(loaded, brown, 128, 4);
        run(calib, (layer, name, x, tokens, in) -> CALIB.computeIfAbsent(layer, k -> new LinkedHashMap<>())
                .computeIfAbsent(name, k -> new HessianStats(in)).add(x, tokens));
        run(held, (layer, name, x, tokens, in) -> HELD_OUT.computeIfAbsent(layer, k -> new LinkedHashMap<>())
                .computeIfAbsent(name, k -> new ArrayList<>()).add(java.util.Arrays.copyOf(x, tokens * in)));
    }

    /** Runs the dense model's blocks up to the last of {@link #LAYERS}, reporting those layers' linear inputs. */
    private static void run(List<Window> windows, org.prunelab.model.LinearInputObserver sink) {
        DecoderModel m = loaded.model();
        for (Window w : windows) {
            float[] hidden = m.embed(w.tokens());
            for (int l = 0; l <= LAYERS[LAYERS.length - 1]; l++) {
                int layer = l;
                boolean wanted = IntStream.of(LAYERS).anyMatch(x -> x == layer);
                m.runBlock(l, hidden, w.tokens().length, 0, !wanted ? null : (lay, name, x, tokens, in) -> {
                    if (name.equals(ownerOf(layer, name))) sink.onInput(layer, name, x, tokens, in);
                });
            }
        }
    }

    @AfterAll
    static void close() {
        if (loaded != null) loaded.close();
    }

    /** ||(W - Q) X^T||_F^2 over every window's tokens (the product in fp32 on BLAS, the sum in double). */
    static double error(FloatMatrix w, FloatMatrix q, List<float[]> xs) {
        float[] d = new float[w.data().length];
        for (int i = 0; i < d.length; i++) d[i] = w.data()[i] - q.data()[i];
        DenseLinear diff = new DenseLinear(new FloatMatrix(w.rows(), w.cols(), d), null);
        double sum = 0;
        for (float[] x : xs) {
            int tokens = x.length / w.cols();
            float[] y = new float[tokens * w.rows()];
            diff.forward(x, tokens, y);
            for (float v : y) sum += (double) v * v;
        }
        return sum;
    }

    @Test
    void gptqErrorIsBelowRtnOnEveryLinearOnCalibrationAndHeldOutTokens() {
        for (int layer : LAYERS) {
            Map<String, List<float[]>> held = HELD_OUT.get(layer);
            loaded.model().block(layer).linears().forEach((name, linear) -> {
                String owner = ownerOf(layer, name);
                FloatMatrix w = ((DenseLinear) linear).weight();
                HessianStats h = CALIB.get(layer).get(owner);
                assertThat(h.tokens()).isEqualTo(64L * 128);
                for (QuantType f : QuantType.values()) {
                    FloatMatrix gptq = w.copy();
                    new GptqQuantizer().quantize(gptq, h, null, f);
                    FloatMatrix rtn = QuantMatrix.quantize(f, w).dequantize();
                    double gh = error(w, gptq, held.get(owner));
                    double rh = error(w, rtn, held.get(owner));
                    System.out.printf("layer %2d %-10s %s  held-out ||WX-QX||^2: gptq %.4g, rtn %.4g (gptq/rtn %.2f)%n",
                            layer, name, QuantSpec.label(f), gh, rh, gh / rh);
                    assertThat(gh).as("layer %d %s %s held-out error", layer, name, f).isLessThan(rh);
                }
            });
        }
    }

    /** The linear whose inputs {@code name} shares (k/v with q, up with gate). */
    private static String ownerOf(int layer, String name) {
        for (List<String> group : loaded.model().block(layer).layout().inputGroups()) {
            if (group.contains(name)) return group.getFirst();
        }
        throw new IllegalStateException(name);
    }
}
