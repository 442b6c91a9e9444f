package org.prunelab.format;

import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.KvCache;
import org.prunelab.model.TinyLlama;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.sparse.CsrLinear;
import org.prunelab.tensor.sparse.NmLinear;

/**
 * Converting a pruned model's linears to CSR / packed N:M must not change what it computes: logits of the
 * converted model equal the masked-dense model's within float rounding, for prefill (tokens &gt; 1) and
 * decode (one token with a KV cache).
 */
class FormatConversionTest {

    /** Zeroes the smallest-|w| weights: per group of 4 keep the 2 largest (2:4), or keep 30% overall per row. */
    private static DecoderModel pruned(String pattern, long seed) {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), seed);
        for (DecoderBlock b : model.blocks()) {
            for (Linear l : b.linears().values()) {
                FloatMatrix w = ((DenseLinear) l).weight();
                float[] d = w.data();
                if (pattern.equals("2:4")) {
                    for (int g = 0; g < d.length; g += 4) {
                        Integer[] idx = {g, g + 1, g + 2, g + 3};
                        java.util.Arrays.sort(idx, (a, c) -> Float.compare(Math.abs(d[a]), Math.abs(d[c])));
                        d[idx[0]] = 0f;
                        d[idx[1]] = 0f;
                    }
                } else {
                    java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
                    for (int i = 0; i < d.length; i++) if (rnd.nextDouble() < 0.75) d[i] = 0f;
                    for (int c = 0; c < w.cols(); c++) w.set(0, c, 0f); // one empty row per linear
                }
            }
        }
        return model;
    }

    private static List<float[]> outputs(DecoderModel model) {
        int[] tokens = TinyLlama.tokens(19, 3);
        List<float[]> out = new ArrayList<>();
        out.add(model.logits(tokens));
        KvCache cache = model.newCache(tokens.length + 3);
        out.add(model.prefill(tokens, cache));
        for (int t = 0; t < 3; t++) out.add(model.decode(tokens[t], cache));
        return out;
    }

    private static void assertClose(List<float[]> got, List<float[]> want) {
        for (int i = 0; i < want.size(); i++) {
            float[] g = got.get(i);
            float[] w = want.get(i);
            double scale = 0;
            for (float v : w) scale = Math.max(scale, Math.abs(v));
            for (int j = 0; j < w.length; j++) {
                assertThat((double) Math.abs(g[j] - w[j])).as("output %d entry %d", i, j).isLessThanOrEqualTo(1e-5 * scale);
            }
        }
    }

    @Test
    void autoPacks24AndTheLogitsDoNotChange() {
        DecoderModel model = pruned("2:4", 4);
        List<float[]> dense = outputs(model);
        FormatConversion c = FormatConversion.apply(model, "auto");
        assertThat(c.counts()).isEqualTo(Map.of("2:4", 14));
        assertThat(model.block(1).linear("down_proj")).isInstanceOf(NmLinear.class);
        assertThat(c.bytesAfter()).isLessThan(c.bytesBefore() * 6 / 10);
        assertClose(outputs(model), dense);
    }

    @Test
    void csrAndNmAndDenseEachEqualTheMaskedDenseModel() {
        for (String[] pf : new String[][] {{"unstructured", "csr"}, {"unstructured", "auto"}, {"2:4", "csr"},
                {"2:4", "nm"}, {"2:4", "dense"}}) {
            DecoderModel model = pruned(pf[0], 7);
            List<float[]> dense = outputs(model);
            FormatConversion c = FormatConversion.apply(model, pf[1]);
            String expected = switch (pf[1]) {
                case "nm" -> "2:4";
                case "dense" -> "dense";
                default -> "csr";
            };
            assertThat(c.counts()).as("%s as %s", pf[0], pf[1]).isEqualTo(Map.of(expected, 14));
            assertClose(outputs(model), dense);
        }
    }

    @Test
    void denseModelStaysDenseUnderAuto() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 2);
        Linear q = model.block(0).linear("q_proj");
        FormatConversion c = FormatConversion.apply(model, "auto");
        assertThat(c.counts()).isEqualTo(Map.of("dense", 14));
        assertThat(model.block(0).linear("q_proj")).isSameAs(q);
        assertThat(c.summary()).contains("dense x14");
    }

    @Test
    void nmOnUnstructuredNamesLayerAndWorkingFormatAndLeavesTheModelUnchanged() {
        DecoderModel model = pruned("unstructured", 5);
        assertThatThrownBy(() -> FormatConversion.apply(model, "nm"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("format nm")
                .hasMessageContaining("layer 0 q_proj")
                .hasMessageContaining("use format csr")
                .hasMessageContaining("format auto picks");
        for (DecoderBlock b : model.blocks()) {
            assertThat(b.linears().values()).allMatch(l -> l instanceof DenseLinear);
        }
        FormatConversion.apply(model, "csr");
        assertThat(model.block(1).linear("up_proj")).isInstanceOf(CsrLinear.class);
    }

    @Test
    void unknownFormatIsRejected() {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 2);
        assertThatThrownBy(() -> FormatConversion.apply(model, "bsr"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("auto, dense, csr, nm");
    }
}
