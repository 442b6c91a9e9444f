package org.prunelab.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LowRankLinear;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.sparse.CsrLinear;
import org.prunelab.tensor.sparse.NmLinear;

/** The format registry: the auto rule per phase, explicit requests, refusals, and what every entry promises. */
class WeightFormatsTest {

    /** Random weights with a fraction {@code sparsity} of exact zeros. */
    static FloatMatrix unstructured(int rows, int cols, double sparsity, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = r.nextDouble() < sparsity ? 0f : (float) r.nextGaussian();
        return new FloatMatrix(rows, cols, d);
    }

    /** Random N:M weights: in every group of m, the m-n smallest set to zero. */
    static FloatMatrix nm(int rows, int cols, int n, int m, long seed) {
        FloatMatrix w = unstructured(rows, cols, 0, seed);
        float[] d = w.data();
        for (int g = 0; g + m <= d.length; g += m) {
            for (int k = 0; k < m - n; k++) {
                int min = -1;
                for (int j = g; j < g + m; j++) if (d[j] != 0 && (min < 0 || Math.abs(d[j]) < Math.abs(d[min]))) min = j;
                d[min] = 0f;
            }
        }
        return w;
    }

    private static Linear dense(FloatMatrix w) { return new DenseLinear(w, null); }

    @Test
    void autoPicksNmForExactPatterns() {
        WeightFormats.Choice c24 = WeightFormats.auto(dense(nm(64, 64, 2, 4, 1)), WeightFormats.Phase.DECODE);
        assertThat(c24.format().name()).isEqualTo("nm");
        assertThat(c24.reason()).contains("2:4").contains("50.0% zeros");
        WeightFormats.Choice c48 = WeightFormats.auto(dense(nm(64, 64, 4, 8, 2)), WeightFormats.Phase.DECODE);
        assertThat(c48.reason()).contains("4:8");
    }

    @Test
    void autoPicksCsrAboveTheCrossoverAndDenseBelowInBothPhases() {
        Linear sparse = dense(unstructured(128, 128, WeightFormats.CSR_MIN_SPARSITY + 0.05, 3));
        assertThat(WeightFormats.auto(sparse, WeightFormats.Phase.DECODE).format().name()).isEqualTo("csr");
        assertThat(WeightFormats.auto(sparse, WeightFormats.Phase.PREFILL).format().name()).isEqualTo("csr");
        WeightFormats.Choice mild = WeightFormats.auto(dense(unstructured(128, 128, WeightFormats.CSR_MIN_SPARSITY - 0.15, 4)),
                WeightFormats.Phase.DECODE);
        assertThat(mild.format().name()).isEqualTo("dense");
        assertThat(mild.reason()).contains("below the CSR crossover");
        // an all-zero matrix is trivially 2:4, but CSR stores nothing at all
        assertThat(WeightFormats.auto(dense(FloatMatrix.zeros(16, 16)), WeightFormats.Phase.DECODE).format().name())
                .isEqualTo("csr");
    }

    @Test
    void convertHonoursExplicitRequestsAndKeepsBiases() {
        FloatMatrix w = nm(8, 32, 2, 4, 5);
        float[] bias = {1, 2, 3, 4, 5, 6, 7, 8};
        Linear biased = new DenseLinear(w, bias);
        Linear packed = WeightFormats.convert(biased, WeightFormats.byName("nm"));
        assertThat(packed).isInstanceOf(BiasedLinear.class);
        assertThat(((BiasedLinear) packed).inner()).isInstanceOf(NmLinear.class);
        assertThat(WeightFormats.label(packed)).isEqualTo("2:4");
        assertThat(WeightFormats.convert(biased, WeightFormats.byName("csr"))).isInstanceOf(BiasedLinear.class);
        Linear back = WeightFormats.convert(packed, WeightFormats.byName("dense"));
        assertThat(back).isInstanceOf(DenseLinear.class);
        assertThat(((DenseLinear) back).weight()).isEqualTo(w);
        assertThat(((DenseLinear) back).bias()).isSameAs(bias);
        float[] x = new float[32 * 3];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.sin(i);
        float[] y1 = new float[24], y2 = new float[24];
        biased.forward(x, 3, y1);
        packed.forward(x, 3, y2);
        for (int i = 0; i < y1.length; i++) assertThat(y2[i]).isCloseTo(y1[i], org.assertj.core.data.Offset.offset(1e-4f));
    }

    @Test
    void everyFormatDecodesWhatItEncodesAndReportsItsBytes() {
        FloatMatrix w = nm(16, 64, 2, 4, 7);
        for (WeightFormat f : WeightFormats.all()) {
            Linear source = dense(w);
            if (f.misfit(source).isPresent()) continue;
            Linear encoded = f.encode(source);
            assertThat(f.holds(encoded)).as(f.name()).isTrue();
            assertThat(WeightFormats.of(encoded)).as(f.name()).isSameAs(f);
            FloatMatrix decoded = f.decode(encoded);
            if (f.lossless()) assertThat(decoded).as(f.name()).isEqualTo(w);
            assertThat(f.weightBytes(w.rows(), w.cols(), w.size() - w.countZeros())).as(f.name())
                    .isEqualTo(encoded.parameterBytes());
        }
    }

    @Test
    void aPhasedLayerRunsItsPrefillLayerForSeveralTokensAndItsDecodeLayerForOne() {
        FloatMatrix w = nm(8, 32, 2, 4, 11);
        Linear prefill = dense(w), decode = WeightFormats.convert(dense(w), WeightFormats.byName("nm"));
        PhasedLinear p = new PhasedLinear(prefill, decode);
        assertThat(WeightFormats.label(p)).isEqualTo("prefill dense / decode 2:4");
        assertThat(p.parameterBytes()).isEqualTo(prefill.parameterBytes() + decode.parameterBytes());
        float[] x = new float[32 * 3];
        for (int i = 0; i < x.length; i++) x[i] = (float) Math.cos(i);
        float[] want = new float[24], got = new float[24];
        prefill.forward(x, 3, want);
        p.forward(x, 3, got);
        assertThat(got).containsExactly(want);
        float[] want1 = new float[8], got1 = new float[8];
        decode.forward(x, 1, want1);
        p.forward(x, 1, got1);
        assertThat(got1).containsExactly(want1);
        assertThat(WeightFormats.denseWeight(p)).isEqualTo(w);
    }

    @Test
    void lowRankIsHeldAndDecodedButNeverEncodedFromAWeight() {
        FloatMatrix a = unstructured(2, 8, 0, 1), b = unstructured(6, 2, 0, 2);
        LowRankLinear lr = new LowRankLinear(a, b);
        WeightFormat f = WeightFormats.of(lr);
        assertThat(f.name()).isEqualTo("lowrank");
        FloatMatrix w = f.decode(lr);
        double want = 0;
        for (int k = 0; k < 2; k++) want += b.get(3, k) * a.get(k, 5);
        assertThat((double) w.get(3, 5)).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-5));
        assertThat(f.misfit(dense(w))).get().asString().contains("--method lowrank");
        assertThat(f.weightBytes(6, 8, 2 * (6 + 8))).isEqualTo(lr.parameterBytes());
    }

    @Test
    void nmOnUnstructuredWeightsNamesTheFormatThatWorks() {
        WeightFormat nm = WeightFormats.byName("nm");
        assertThat(nm.misfit(dense(unstructured(64, 64, 0.75, 9)))).get().asString()
                .contains("neither").contains("row ").contains("use format csr");
        assertThat(nm.misfit(dense(unstructured(64, 64, 0.3, 10)))).get().asString().contains("use format dense");
        assertThatThrownBy(() -> WeightFormats.convert(dense(unstructured(64, 64, 0.3, 10)), nm))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("2:4 or 4:8");
    }

    @Test
    void unknownFormatListsTheChoices() {
        assertThatThrownBy(() -> WeightFormats.byName("bsr"))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("'bsr'")
                .hasMessageContaining("auto, dense, csr, nm, lowrank, q8_0, q4_0, nm-q8, nm-q4");
        assertThat(WeightFormats.of(CsrLinear.of(unstructured(4, 4, 0.5, 1))).name()).isEqualTo("csr");
    }
}
