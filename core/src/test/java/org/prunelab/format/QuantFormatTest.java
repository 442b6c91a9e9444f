package org.prunelab.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.arch.ModelLoader;
import org.prunelab.bench.ModelBench;
import org.prunelab.bench.RandomWeights;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.KvCache;
import org.prunelab.model.TinyLlama;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantType;

/** Whole-model conversion to GGUF's block formats: what is converted, what it costs, and what is refused. */
class QuantFormatTest {

    /** hidden 32, intermediate 64: every in_features a multiple of 32. */
    private static DecoderModel model(long seed) {
        DecoderConfig c = new DecoderConfig(32, 64, 2, 4, 2, 8, 50, 64, 1e-5, 10000, null, true, 1, 2);
        return ModelLoader.build(c, new RandomWeights(c, seed, 0.2));
    }

    private static double maxRelDiff(float[] a, float[] b) {
        double scale = 0, diff = 0;
        for (int i = 0; i < a.length; i++) {
            scale = Math.max(scale, Math.abs(b[i]));
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
        }
        return diff / scale;
    }

    @Test
    void q8ConvertsEveryBlockLinearAndTheHeadAndStaysCloseToFp32() {
        DecoderModel m = model(3);
        int[] tokens = TinyLlama.tokens(12, 1);
        float[] before = m.logits(tokens);
        long bytesBefore = ModelBench.modelBytes(m);
        FormatConversion c = FormatConversion.apply(m, "q8_0");
        assertThat(c.counts()).isEqualTo(Map.of("q8_0", 15)); // 2 blocks x 7 linears + the LM head
        assertThat(m.lmHead()).isInstanceOf(QuantLinear.class);
        assertThat(m.block(1).linear("down_proj")).isInstanceOf(QuantLinear.class);
        // 34 bytes per 32 weights instead of 128; the embedding stays fp32 for the lookup
        assertThat(c.bytesAfter()).isEqualTo(c.layers().stream().mapToLong(l -> l.bytesBefore() / 128 * 34).sum());
        assertThat(ModelBench.modelBytes(m)).isEqualTo(bytesBefore - c.bytesBefore() + 4L * 50 * 32 + c.bytesAfter());
        float[] after = m.logits(tokens);
        assertThat(maxRelDiff(after, before)).isLessThan(0.03).isGreaterThan(0); // rounded, not unchanged
        // decode with a KV cache runs the matvec kernel and agrees with prefill's tiles
        KvCache cache = m.newCache(tokens.length);
        float[] last = null;
        for (int t : tokens) last = m.decode(t, cache);
        float[] lastRow = java.util.Arrays.copyOfRange(after, after.length - 50, after.length);
        assertThat(maxRelDiff(last, lastRow)).isLessThan(1e-4);
    }

    @Test
    void losslessTargetsKeepQuantisedLayersAndDenseDecodesOnPurpose() {
        DecoderModel m = model(4);
        FormatConversion.apply(m, "q4_0");
        assertThat(((QuantLinear) m.block(0).linear("q_proj")).type()).isEqualTo(QuantType.Q4_0);
        assertThat(((QuantLinear) m.lmHead()).type()).isEqualTo(QuantType.Q8_0);
        FormatConversion keep = FormatConversion.apply(m, "auto");
        assertThat(keep.counts()).isEqualTo(Map.of("q4_0", 14));
        assertThat(FormatConversion.apply(m, "dense").layers()).allMatch(l -> l.reason().startsWith("kept"));
        var dense = WeightFormats.convert(m.block(0).linear("q_proj"), WeightFormats.byName("dense"));
        assertThat(dense).isInstanceOf(DenseLinear.class);
        assertThat(((DenseLinear) dense).weight()).isEqualTo(((QuantLinear) m.block(0).linear("q_proj")).weight().dequantize());
    }

    @Test
    void aRowLengthThatIsNotWholeBlocksIsRefusedBeforeAnythingChanges() {
        DecoderModel m = TinyLlama.model(TinyLlama.config(4, 2), 5); // intermediate 48: down_proj has 48 inputs
        assertThatThrownBy(() -> FormatConversion.apply(m, "q8_0"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("layer 0 down_proj")
                .hasMessageContaining("multiple of 32")
                .hasMessageContaining("48");
        assertThat(m.block(0).linear("q_proj")).isInstanceOf(DenseLinear.class);
        assertThat(m.lmHead()).isInstanceOf(DenseLinear.class);
    }

    @Test
    void aModelHeldQuantisedIsNotPrunedAndTheMessageSaysHowQuantisedSourcesAreHandled() {
        DecoderModel m = model(6);
        FormatConversion.apply(m, "q8_0");
        for (String method : java.util.List.of("magnitude", "fasp")) {
            var entry = org.prunelab.prune.Methods.byName(method);
            var pruner = entry.create(entry.args(java.util.Map.of("sparsity", 0.25)));
            assertThatThrownBy(() -> pruner.prune(m, java.util.List.of(TinyLlama.tokens(64, 1)),
                    new org.prunelab.prune.PruneOptions(org.prunelab.Progress.NONE, false)))
                    .as(method).isInstanceOf(PrunelabException.InvalidArgument.class)
                    .hasMessageContaining("layer 0 q_proj is held as q8_0")
                    .hasMessageContaining("dequantised to fp32 when it is loaded")
                    .hasMessageContaining("--quantize");
        }
    }

    @Test
    void nmQ8PacksA24ModelAndRefusesOneThatIsNot() {
        DecoderModel m = model(7);
        for (var b : m.blocks()) {
            for (var e : b.linears().entrySet()) {
                float[] d = ((DenseLinear) e.getValue()).weight().data();
                for (int g = 0; g < d.length; g += 4) { d[g + 1] = 0f; d[g + 3] = 0f; }
            }
        }
        int[] tokens = TinyLlama.tokens(9, 2);
        float[] before = m.logits(tokens);
        FormatConversion c = FormatConversion.apply(m, "nm-q8");
        assertThat(c.counts()).containsEntry("2:4-q8", 14).containsEntry("q8_0", 1); // the LM head is not N:M: Q8_0
        // rows this short (16 kept values) pad to one block of 32; at SmolLM2's 576 columns 2:4 int8 streams 0.62x of Q8_0
        WeightFormat nmq8 = WeightFormats.byName("nm-q8"), q8 = WeightFormats.byName("q8_0");
        assertThat((double) nmq8.weightBytes(576, 576, 576 * 288) / q8.weightBytes(576, 576, 576 * 288)).isLessThan(0.63);
        assertThat(maxRelDiff(m.logits(tokens), before)).isLessThan(0.03);
        DecoderModel unstructured = model(8);
        assertThatThrownBy(() -> FormatConversion.apply(unstructured, "nm-q8"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("format nm-q8 needs 2:4 or 4:8 weights")
                .hasMessageContaining("layer 0 q_proj");
        assertThat(unstructured.block(0).linear("q_proj")).isInstanceOf(DenseLinear.class);
    }

    @Test
    void unknownFormatsListQuantisedOnes() {
        assertThatThrownBy(() -> WeightFormats.byName("q5_k"))
                .hasMessageContaining("q8_0").hasMessageContaining("q4_0");
    }
}
