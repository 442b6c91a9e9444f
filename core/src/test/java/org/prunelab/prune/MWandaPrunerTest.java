package org.prunelab.prune;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.tensor.FloatMatrix;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * M-Wanda's algebra on the tiny random Llama of {@link LayerwisePrunerTest} and on hand-sized statistics: with one
 * language, or two whose statistics are identical, it is Wanda mask for mask; a hand-computed score; CWL's direction;
 * bad input.
 */
class MWandaPrunerTest {

    private static MWandaPruner mwanda(double sparsity, List<String> languages) {
        return new MWandaPruner(SparsityPattern.unstructured(sparsity), MWandaPruner.DEFAULT_ALPHA, MWandaPruner.DEFAULT_BETA,
                true, MWandaPruner.DEFAULT_LAMBDA, languages);
    }

    private static void assertSameWeights(DecoderModel a, DecoderModel b) {
        for (int l = 0; l < a.blocks().size(); l++) {
            for (String name : a.block(l).linearNames()) {
                FloatMatrix x = ((DenseLinear) a.block(l).linear(name)).weight();
                FloatMatrix y = ((DenseLinear) b.block(l).linear(name)).weight();
                assertThat(x.data()).as("layer %d %s", l, name).containsExactly(y.data());
            }
        }
    }

    @Test
    void withOneLanguageItIsWandaMaskForMask() {
        List<int[]> windows = LayerwisePrunerTest.windows(3, 21);
        DecoderModel wanda = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5))
                .prune(LayerwisePrunerTest.model(), windows, Progress.NONE).model();
        PruneOutcome unknown = mwanda(0.5, null).prune(LayerwisePrunerTest.model(), windows, PruneOptions.keepInput(Progress.NONE));
        PruneOutcome english = mwanda(0.5, List.of("en", "en", "en")).prune(LayerwisePrunerTest.model(), windows,
                PruneOptions.keepInput(Progress.NONE));

        assertSameWeights(unknown.model(), wanda);
        assertSameWeights(english.model(), wanda);
        assertThat(english.blockSparsities()).as("no cross-lingual correlation to rank blocks by").isNull();
    }

    @Test
    void twoLanguagesWithIdenticalStatisticsGiveWandasMask() {
        List<int[]> half = LayerwisePrunerTest.windows(2, 22);
        List<int[]> windows = new ArrayList<>(half);
        windows.addAll(half); // language b sees exactly what language a sees
        DecoderModel wanda = new LayerwisePruner(new WandaPruner(), SparsityPattern.unstructured(0.5))
                .prune(LayerwisePrunerTest.model(), windows, Progress.NONE).model();
        PruneOutcome two = mwanda(0.5, List.of("a", "a", "b", "b")).prune(LayerwisePrunerTest.model(), windows,
                PruneOptions.keepInput(Progress.NONE));

        assertSameWeights(two.model(), wanda);
        assertThat(two.blockSparsities()).as("equal correlations: every block at the target").containsOnly(0.5);
    }

    @Test
    void twoDifferentLanguagesReachTheTargetSparsityWithBlocksAroundIt() {
        List<int[]> windows = LayerwisePrunerTest.windows(4, 23);
        PruneOutcome r = mwanda(0.5, List.of("a", "b", "a", "b")).prune(LayerwisePrunerTest.model(), windows,
                PruneOptions.keepInput(Progress.NONE));
        double[] s = r.blockSparsities();
        assertThat(s).hasSize(3);
        assertThat((s[0] + s[1] + s[2]) / 3).isCloseTo(0.5, within(1e-12));
        assertThat(java.util.Arrays.stream(s).max().orElseThrow() - java.util.Arrays.stream(s).min().orElseThrow())
                .as("CWL spreads blocks over 2 lambda").isCloseTo(0.16, within(1e-12));
        for (PrunedLinear p : r.linears()) {
            assertThat((double) p.pruned()).isCloseTo(Math.floor(p.inFeatures() * s[p.layer()]) * p.outFeatures(), within(0.5));
        }
    }

    /**
     * Two features, two languages, one token each: language 0 sees x = (1, 2), language 1 sees (3, -2). Then
     * a = [[1, 2], [3, 2]], mu = (2, 2), sigma = (1, 0), p = [[1, 1], [1, 0]], max p - mean p = (0, 0.5), and with
     * alpha 0.5, beta 1: A = (2 - 0.5, 2) + (0, 1 * 2 * 0.5) = (1.5, 3).
     */
    @Test
    void handComputedScoreOnATinyExample() {
        MWandaStats stats = new MWandaStats(2, 1, new int[] {0, 1}, 2);
        stats.add(new float[] {1, 2, 3, -2}, 2);

        assertThat(stats.norms()[0]).containsExactly(1, 2);
        assertThat(stats.norms()[1]).containsExactly(3, 2);
        assertThat(stats.activationProbabilities()[1]).containsExactly(1, 0);
        assertThat(stats.importance(0.5, 1)).containsExactly(1.5, 3);
        FloatMatrix w = new FloatMatrix(2, 2, new float[] {1, 1, 2, 0.5f});
        assertThat(MWandaPruner.scores(w, stats, 0.5, 1)).containsExactly(1.5, 3, 3, 1.5);
        MWandaPruner.pruneMatrix(w, stats, SparsityPattern.unstructured(0.5), 0.5, 1);
        assertThat(w.data()).containsExactly(0, 1, 2, 0);
        // Wanda on the same two tokens (norms sqrt(5) and 2) would keep column 0 of row 0 instead.
        assertThat(MWandaPruner.crossLingualCorrelation(stats)).isCloseTo(-1, within(1e-12)); // (1, 2) against (3, 2)
    }

    @Test
    void cwlGivesBlocksWhoseFeaturesCorrelateMoreAcrossLanguagesLessSparsity() {
        double[] s = MWandaPruner.allocate(new double[] {0.9, 0.5, 0.7}, 0.5, 0.08);
        assertThat(s[0]).isCloseTo(0.42, within(1e-12));
        assertThat(s[1]).isCloseTo(0.58, within(1e-12));
        assertThat(s[2]).isCloseTo(0.5, within(1e-12));
        assertThat(MWandaPruner.pearson(new double[] {1, 2, 3}, new double[] {2, 4, 6})).isCloseTo(1, within(1e-12));
        assertThat(MWandaPruner.pearson(new double[] {1, 2, 3}, new double[] {3, 2, 1})).isCloseTo(-1, within(1e-12));
    }

    @Test
    void badInputIsRefusedClearly() {
        List<int[]> windows = LayerwisePrunerTest.windows(3, 24);
        assertThatThrownBy(() -> mwanda(0.5, List.of("a", "b")).prune(LayerwisePrunerTest.model(), windows,
                PruneOptions.keepInput(Progress.NONE))).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessage("mwanda was told the languages of 2 calibration windows but given 3 windows");
        Method m = Methods.byName("mwanda");
        assertThatThrownBy(() -> m.args(Map.of("pattern", "2:4", "cwl", true)))
                .hasMessageContaining("cwl gives each block its own unstructured sparsity");
        assertThat(m.create(m.args(Map.of("pattern", "2:4"))).method()).isEqualTo("mwanda"); // cwl off by itself for N:M
        assertThatThrownBy(() -> m.args(Map.of("sparsity", 0.5, "alpha", -1))).hasMessageContaining("alpha -1");
        assertThatThrownBy(() -> new MWandaStats(2, 4, new int[] {0}, 1).add(new float[16], 8))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("made for 1 windows of 4 tokens");
    }

    @Test
    void aLanguageAwarePrunerTakesTheWindowsLanguagesOthersIgnoreThem() {
        Pruner p = Methods.byName("mwanda").create(Methods.byName("mwanda").args(Map.of("sparsity", 0.5)));
        assertThat(p.languageAware()).isTrue();
        assertThat(((MWandaPruner) p.withCalibrationLanguages(List.of("en", "sw", "en"))).languages()).containsExactly("en", "sw");
        Pruner w = Methods.byName("wanda").create(Methods.byName("wanda").args(Map.of("sparsity", 0.5)));
        assertThat(w.withCalibrationLanguages(List.of("en", "sw"))).isSameAs(w);
        assertThat(w.languageAware()).isFalse();
    }
}
