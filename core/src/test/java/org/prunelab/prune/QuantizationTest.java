package org.prunelab.prune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.arch.ModelLoader;
import org.prunelab.bench.RandomWeights;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.ModelShape;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * Quantisation after pruning in the calibration loop ({@link QuantSpec}, {@link GptqQuantizer},
 * {@link SparseGptPruner#pruneAndQuantize}) on a tiny random Llama whose in_features are multiples of 32, the grid's
 * hand-checkable rules, and the errors a user can make.
 */
class QuantizationTest {
    static final DecoderConfig CONFIG = new DecoderConfig(64, 96, 2, 4, 2, 16, 50, 64, 1e-5, 10000, null, true, 1, 2);
    static final int SEQLEN = 16;

    static DecoderModel model() {
        return ModelLoader.build(CONFIG, new RandomWeights(CONFIG, 11, 0.2));
    }

    static List<int[]> windows(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<int[]> w = new ArrayList<>();
        for (int i = 0; i < n; i++) w.add(r.ints(SEQLEN, 0, CONFIG.vocabSize()).toArray());
        return w;
    }

    static FloatMatrix weight(DecoderModel m, int layer, String name) {
        return ((DenseLinear) m.block(layer).linear(name)).weight();
    }

    /** The integer code of weight (r, c): Q8_0's int8, Q4_0's nibble. */
    static int code(QuantMatrix m, int r, int c) {
        return GroupGrid.codeAt(m.type(), m.toByteArray(), m.cols(), r, c);
    }

    /** The fp16 scale of the block holding (r, c), widened. */
    static float scale(QuantMatrix m, int r, int c) {
        return GroupGrid.scaleAt(m.type(), m.toByteArray(), m.cols(), r, c);
    }

    /** Weight (r, c) as stored. */
    static float value(QuantMatrix m, int r, int c) {
        return GroupGrid.value(m.type(), code(m, r, c), scale(m, r, c));
    }

    /** Every linear: the model holds exactly its blocks' values, and pruned weights are exactly 0. */
    static void assertStoredAndMasked(PruneOutcome out, QuantType format) {
        assertThat(out.linears()).hasSize(7 * CONFIG.numHiddenLayers());
        for (PrunedLinear pl : out.linears()) {
            QuantMatrix q = pl.quantized();
            assertThat(q).as("layer %d %s quantised", pl.layer(), pl.name()).isNotNull();
            assertThat(q.type()).isEqualTo(format);
            FloatMatrix w = weight(out.model(), pl.layer(), pl.name());
            FloatMatrix stored = q.dequantize();
            for (int i = 0; i < w.data().length; i++) {
                assertThat(w.data()[i] == stored.data()[i]).as("layer %d %s weight %d", pl.layer(), pl.name(), i).isTrue();
            }
            assertThat(pl.zeros()).isGreaterThanOrEqualTo(pl.pruned());
        }
    }

    @Test
    void wandaThenGptqKeepsWandasMaskAtExactlyZero() {
        DecoderModel m = model();
        List<int[]> windows = windows(3, 1);
        PruneOutcome plain = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5)).prune(m, windows, Progress.NONE);
        LayerwisePruner quantised = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5))
                .withQuantization(QuantSpec.of("q4_0", "gptq"));
        PruneOutcome out = quantised.prune(m, windows, Progress.NONE);
        assertStoredAndMasked(out, QuantType.Q4_0);
        // Block 0 sees the same inputs, so Wanda picks the same mask; every masked weight is exactly 0 (code 8).
        for (PrunedLinear pl : out.linears()) {
            if (pl.layer() != 0) continue;
            FloatMatrix before = weight(plain.model(), 0, pl.name());
            FloatMatrix after = weight(out.model(), 0, pl.name());
            for (int r = 0; r < before.rows(); r++) {
                for (int c = 0; c < before.cols(); c++) {
                    if (before.get(r, c) == 0f) {
                        assertThat(after.get(r, c)).isZero();
                        assertThat(code(pl.quantized(), r, c)).isEqualTo(8);
                    }
                }
            }
            assertThat(pl.pruned()).isEqualTo((long) (0.5 * pl.inFeatures()) * pl.outFeatures());
        }
        assertThat(quantised.needsCalibration()).isTrue();
    }

    @Test
    void quantizedModelRunsTheBlocksThroughQuantLinearWithTheSameWeights() {
        DecoderModel m = model();
        PruneOutcome out = new LayerwisePruner(new SparseGptPruner(), SparsityPattern.nm(2, 4), null, QuantSpec.of("q8_0", "gptq"))
                .prune(m, windows(2, 4), Progress.NONE);
        DecoderModel q = out.quantizedModel();
        for (PrunedLinear pl : out.linears()) {
            org.prunelab.tensor.Linear l = q.block(pl.layer()).linear(pl.name());
            assertThat(l).isInstanceOf(org.prunelab.tensor.quant.QuantLinear.class);
            assertThat(((org.prunelab.tensor.quant.QuantLinear) l).weight()).isSameAs(pl.quantized());
        }
        int[] tokens = windows(1, 8).getFirst();
        float[] dense = out.model().logits(tokens);
        float[] blocks = q.logits(tokens);
        for (int i = 0; i < dense.length; i++) assertThat(blocks[i]).isCloseTo(dense[i], org.assertj.core.data.Offset.offset(1e-3f));
        PruneOutcome none = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5)).prune(m, windows(2, 4), Progress.NONE);
        assertThat(none.quantizedModel()).isSameAs(none.model());
    }

    @Test
    void magnitudeNeedsCalibrationOnlyWithGptq() {
        LayerwisePruner mag = new LayerwisePruner(new MagnitudePruner(), SparsityPattern.nm(2, 4));
        assertThat(mag.withQuantization(QuantSpec.of("q8_0", "rtn")).needsCalibration()).isFalse();
        assertThat(mag.withQuantization(QuantSpec.of("q8_0", "gptq")).needsCalibration()).isTrue();

        DecoderModel m = model();
        PruneOutcome rtn = mag.withQuantization(QuantSpec.of("q8_0", "rtn")).prune(m, List.of(), Progress.NONE);
        assertStoredAndMasked(rtn, QuantType.Q8_0);
        PruneOutcome pruned = mag.prune(m, List.of(), Progress.NONE);
        // RTN of the pruned matrix, as llama.cpp's quantiser would give it.
        for (PrunedLinear pl : rtn.linears()) {
            assertThat(pl.quantized().toByteArray()).isEqualTo(QuantMatrix.quantize(QuantType.Q8_0, weight(pruned.model(), pl.layer(), pl.name())).toByteArray());
        }
        PruneOutcome gptq = mag.withQuantization(QuantSpec.of("q8_0", "gptq")).prune(m, windows(2, 5), Progress.NONE);
        assertStoredAndMasked(gptq, QuantType.Q8_0);
        for (PrunedLinear pl : gptq.linears()) {
            FloatMatrix w = weight(gptq.model(), pl.layer(), pl.name());
            for (int r = 0; r < w.rows(); r++) {
                for (int c0 = 0; c0 < w.cols(); c0 += 4) {
                    int nonzero = 0;
                    for (int k = 0; k < 4; k++) if (w.get(r, c0 + k) != 0f) nonzero++;
                    assertThat(nonzero).as("2:4 survives GPTQ, layer %d %s row %d", pl.layer(), pl.name(), r).isLessThanOrEqualTo(2);
                }
            }
        }
    }

    @Test
    void sparseGptWithGptqPrunesAndQuantisesInOnePass() {
        DecoderModel m = model();
        List<int[]> windows = windows(3, 2);
        for (SparsityPattern p : List.of(SparsityPattern.unstructured(0.5), SparsityPattern.nm(2, 4))) {
            PruneOutcome out = new LayerwisePruner(new SparseGptPruner(), p, null, QuantSpec.of("q4_0", "gptq")).prune(m, windows, Progress.NONE);
            assertStoredAndMasked(out, QuantType.Q4_0);
            assertThat(out.method()).isEqualTo("sparsegpt");
            for (PrunedLinear pl : out.linears()) {
                assertThat(pl.percdamp()).isEqualTo(0.01);
                if (p instanceof SparsityPattern.NM) assertThat(pl.pruned()).isEqualTo(pl.parameters() / 2);
            }
        }
    }

    @Test
    void gptqWithoutPruningIsSparseGptAtSparsityZeroQuantisedJointly() {
        DecoderModel m = model();
        List<int[]> windows = windows(3, 3);
        QuantSpec q = QuantSpec.of("q4_0", "gptq");
        PruneOutcome only = LayerwisePruner.quantizeOnly(q).prune(m, windows, Progress.NONE);
        PruneOutcome joint = new LayerwisePruner(new SparseGptPruner(), SparsityPattern.unstructured(0), null, q).prune(m, windows, Progress.NONE);
        assertThat(only.method()).isEqualTo(Methods.DENSE);
        for (int i = 0; i < only.linears().size(); i++) {
            assertThat(only.linears().get(i).pruned()).isZero();
            assertThat(only.linears().get(i).quantized().toByteArray()).isEqualTo(joint.linears().get(i).quantized().toByteArray());
        }
        // RTN without pruning: each dense weight rounded by llama.cpp's rule; no calibration needed.
        LayerwisePruner rtn = LayerwisePruner.quantizeOnly(QuantSpec.of("q8_0", "rtn"));
        assertThat(rtn.needsCalibration()).isFalse();
        PruneOutcome r = rtn.prune(m, List.of(), Progress.NONE);
        for (PrunedLinear pl : r.linears()) {
            assertThat(pl.quantized().toByteArray()).isEqualTo(QuantMatrix.quantize(QuantType.Q8_0, weight(m, pl.layer(), pl.name())).toByteArray());
        }
    }

    @Test
    void gptqOnUncorrelatedInputsIsRtn() {
        // X = c * I: H is diagonal, U is diagonal, no error moves to other columns, so GPTQ rounds like RTN.
        SplittableRandom rnd = new SplittableRandom(9);
        int rows = 8;
        int cols = 96;
        FloatMatrix w = new FloatMatrix(rows, cols, new float[rows * cols]);
        for (int i = 0; i < w.data().length; i++) w.data()[i] = (float) rnd.nextGaussian();
        HessianStats h = new HessianStats(cols);
        float[] x = new float[cols * cols];
        for (int j = 0; j < cols; j++) x[j * cols + j] = 1 + j % 3;
        h.add(x, cols);
        for (QuantType f : QuantType.values()) {
            FloatMatrix copy = w.copy();
            PruneResult r = new GptqQuantizer().quantize(copy, h, null, f);
            assertThat(r.quantized().toByteArray()).as(QuantSpec.label(f)).isEqualTo(QuantMatrix.quantize(f, w).toByteArray());
            assertThat(r.mask().prunedCount()).isZero();
        }
    }

    @Test
    void gridFollowsLlamaCppIncludingItsEdgeCases() {
        float[] g = new float[32];
        // An all-zero Q4_0 group: llama.cpp's max starts at +0.0f, so d = +0.0f / -8 = -0.0f (fp16 0x8000), codes 8.
        QuantMatrix zero = QuantMatrix.quantize(QuantType.Q4_0, new FloatMatrix(1, 32, g.clone()));
        byte[] b = zero.toByteArray();
        assertThat(b[0]).isEqualTo((byte) 0x00);
        assertThat(b[1]).isEqualTo((byte) 0x80);
        for (int j = 2; j < 18; j++) assertThat(b[j]).isEqualTo((byte) 0x88);
        // Q8_0: amax 127 gives d = 1, so x rounds half away from zero: 2.5 -> 3, -2.5 -> -3 (Math.round would give -2).
        g[0] = 127f;
        g[1] = 2.5f;
        g[2] = -2.5f;
        g[3] = -0.5f;
        QuantMatrix q8 = QuantMatrix.quantize(QuantType.Q8_0, new FloatMatrix(1, 32, g.clone()));
        assertThat(code(q8, 0, 0)).isEqualTo(127);
        assertThat(code(q8, 0, 1)).isEqualTo(3);
        assertThat(code(q8, 0, 2)).isEqualTo(-3);
        assertThat(code(q8, 0, 3)).isEqualTo(-1);
        assertThat(scale(q8, 0, 0)).isEqualTo(1f);
        // Q4_0: the largest magnitude with its sign sets d = m / -8: m = 127 gives d = -15.875, so 127 is code 0 (-8 d).
        QuantMatrix q4 = QuantMatrix.quantize(QuantType.Q4_0, new FloatMatrix(1, 32, g.clone()));
        assertThat(code(q4, 0, 0)).isEqualTo(0);
        assertThat(value(q4, 0, 0)).isEqualTo(127f);
        assertThat(scale(q4, 0, 0)).isEqualTo(-15.875f);
        // GPTQ's updates can push a weight past the group's maximum: the code is clamped to the format's range.
        assertThat(GroupGrid.code(QuantType.Q8_0, 300f, 1f)).isEqualTo(127);
        assertThat(GroupGrid.code(QuantType.Q8_0, -300f, 1f)).isEqualTo(-128);
        assertThat(GroupGrid.code(QuantType.Q4_0, 9f, 1f)).isEqualTo(15);
        assertThat(GroupGrid.code(QuantType.Q4_0, -9.7f, 1f)).isEqualTo(0);
        // Block layout: Q4_0 value j in the low nibble of byte j, value j + 16 in the high nibble.
        float[] h = new float[32];
        h[0] = -8f;   // d = 1
        h[16] = 7f;   // code 15
        h[1] = 1f;    // code 9
        byte[] q4b = QuantMatrix.quantize(QuantType.Q4_0, new FloatMatrix(1, 32, h)).toByteArray();
        assertThat(q4b[2] & 0xFF).isEqualTo(0 | 15 << 4);
        assertThat(q4b[3] & 0xFF).isEqualTo(9 | 8 << 4);
    }

    @Test
    void unknownTypesAndMethodsListTheKnownOnes() {
        assertThatThrownBy(() -> QuantSpec.of("q5_k", "gptq"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("'q5_k'").hasMessageContaining("q8_0, q4_0");
        assertThatThrownBy(() -> QuantSpec.of("q4_0", "awq"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("'awq'").hasMessageContaining("rtn, gptq");
        assertThat(QuantSpec.of(" Q4_0 ", "GPTQ")).isEqualTo(new QuantSpec(QuantType.Q4_0, QuantSpec.Algorithm.GPTQ));
        // The CLI spells the parameters with its own flags.
        PrunelabException e = org.assertj.core.api.Assertions.catchThrowableOfType(PrunelabException.class,
                () -> QuantSpec.of("q3", "rtn"));
        assertThat(e.message(n -> n.equals("quantize") ? "--quantize" : null)).contains("--quantize");
    }

    @Test
    void structuredMethodsRefuseQuantisationNamingTheMethodsThatCan() {
        Method fasp = Methods.byName("fasp");
        Pruner p = fasp.create(fasp.args(Map.of("sparsity", 0.25)));
        assertThat(p.withQuantization(null)).isSameAs(p);
        assertThatThrownBy(() -> p.withQuantization(QuantSpec.of("q4_0", "rtn")))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("fasp").hasMessageContaining("magnitude, wanda, sparsegpt");
        Method wanda = Methods.byName("wanda");
        Pruner w = wanda.create(wanda.args(Map.of("sparsity", 0.5)));
        assertThat(w.withQuantization(QuantSpec.of("q4_0", "gptq")).needsCalibration()).isTrue();
    }

    @Test
    void aLinearWhoseInFeaturesAreNotAMultipleOf32IsRefusedBeforeAnyWork() {
        DecoderConfig odd = new DecoderConfig(32, 48, 1, 4, 2, 8, 50, 64, 1e-5, 10000, null, true, 1, 2);
        ModelShape shape = ModelShape.of(ModelLoader.build(odd, new RandomWeights(odd, 1, 0.2)));
        LayerwisePruner p = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5)).withQuantization(QuantSpec.of("q8_0", "rtn"));
        assertThatThrownBy(() -> p.check(shape, 0))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("layer 0").hasMessageContaining("48 input features").hasMessageContaining("multiples of 32");
        assertThatThrownBy(() -> new GptqQuantizer(100, 0.01)).isInstanceOf(PrunelabException.InvalidArgument.class);
    }
}
