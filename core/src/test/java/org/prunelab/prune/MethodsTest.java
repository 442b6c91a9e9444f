package org.prunelab.prune;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.ModelShape;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The method registry: complete entries, typed and ranged parameters, and the rules between them. */
class MethodsTest {
    static final ModelShape SMOL = ModelShape.uniform(new DecoderConfig(576, 1536, 30, 9, 3, 64, 49152, 8192, 1e-5, 1e5, null, true, 1, 2),
            org.prunelab.arch.StandardArchitecture.LAYOUT);

    @Test
    void everyEntryIsDocumentedAndBuildsAPrunerWithItsDefaults() {
        Set<String> names = new HashSet<>();
        for (Method m : Methods.all()) {
            assertThat(names.add(m.name())).as("unique name " + m.name()).isTrue();
            assertThat(m.summary()).isNotBlank();
            assertThat(m.paper()).as(m.name()).matches(".*(19|20)\\d\\d.*");
            assertThat(m.sparsityOf()).isNotBlank();
            assertThat(m.params()).isNotEmpty();
            for (MethodParam p : m.params()) assertThat(p.doc()).as(m.name() + "." + p.name()).isNotBlank();
            Map<String, Object> minimal = m.hasParam("layers") ? Map.of("layers", 1) : Map.of("sparsity", 0.5);
            Pruner pruner = m.create(m.args(minimal));
            assertThat(pruner.method()).isEqualTo(m.name());
        }
        assertThat(Methods.names()).startsWith("magnitude", "wanda", "sparsegpt")
                .contains("fasp", "flap", "shortgpt", "lowrank");
        assertThat(Methods.paramNames()).contains("sparsity", "pattern", "owl", "allocation", "restore", "layers",
                "rank_ratio", "activation_weighted");
    }

    @Test
    void valuesAreParsedByTypeAndCheckedAgainstTheirRange() {
        Method wanda = Methods.byName("wanda");
        MethodArgs a = wanda.args(Map.of("sparsity", "0.25", "owl", "true"));
        assertThat(a.values()).containsEntry("sparsity", 0.25).containsEntry("owl", true).containsEntry("pattern", "unstructured");
        assertThat(a.given()).containsExactly("sparsity", "owl");
        assertThat(wanda.args(Map.of("pattern", "2:4")).pattern()).isEqualTo(SparsityPattern.nm(2, 4));
        assertThatThrownBy(() -> wanda.args(Map.of("sparsity", 1.0))).hasMessage(
                "sparsity 1.0 is outside [0, 1) (share of weights to remove: every output row's weights (floor(in_features x sparsity)"
                        + " per row); implied (1 - N/M) for an N:M pattern)");
        assertThatThrownBy(() -> wanda.args(Map.of("owl", "maybe"))).hasMessage("owl maybe must be true or false");
        assertThatThrownBy(() -> wanda.args(Map.of("pattern", "5:4"))).hasMessageContaining("0 < N < M");
        assertThatThrownBy(() -> wanda.args(Map.of())).hasMessageStartingWith("method wanda needs sparsity");
        assertThatThrownBy(() -> Methods.byName("shortgpt").args(Map.of("layers", 2.5))).hasMessageContaining("whole number");
        assertThatThrownBy(() -> Methods.byName("fasp").args(Map.of("sparsity", 0.2, "allocation", "random")))
                .hasMessage("allocation random must be one of uniform, global");
    }

    @Test
    void rulesBetweenParametersAreTheMethodsOwn() {
        assertThatThrownBy(() -> Methods.byName("wanda").args(Map.of("pattern", "2:4", "sparsity", 0.7)))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("drop sparsity");
        assertThatThrownBy(() -> Methods.byName("wanda").args(Map.of("pattern", "2:4", "owl", true)))
                .hasMessageContaining("owl gives each block its own unstructured sparsity");
        assertThatThrownBy(() -> Methods.byName("shortgpt").args(Map.of("layers", 2, "sparsity", 0.1)))
                .hasMessageContaining("exactly one of layers");
        assertThatThrownBy(() -> Methods.byName("lowrank").args(Map.of()))
                .hasMessageContaining("exactly one of rank_ratio");
        assertThatThrownBy(() -> Methods.byName("magnitude").args(Map.of("sparsity", 0.5, "owl", true)))
                .hasMessage("method magnitude has no parameter owl (wanda, sparsegpt take it); its parameters are sparsity, pattern");
        assertThatThrownBy(() -> Methods.byName("nope")).hasMessageStartingWith("unknown pruning method 'nope': use one of magnitude, wanda, sparsegpt")
                .hasMessageContaining(" (unstructured, N:M); fasp, flap, shortgpt").hasMessageContaining(" (structured); lowrank")
                .hasMessageEndingWith(" (low-rank)");
    }

    /** What each method's sparsity is a share of, and how the alternatives to it translate on a real shape. */
    @Test
    void requestedSparsityIsInEachMethodsOwnTerms() {
        assertThat(create("shortgpt", Map.of("layers", 6)).requestedSparsity(SMOL)).isEqualTo(0.2);
        assertThat(((org.prunelab.prune.structured.ShortGpt) create("shortgpt", Map.of("sparsity", 0.25))).layersFor(30)).isEqualTo(8);
        // Low-rank at sparsity s keeps 1 - s of the blocks' linear parameters, up to rounding each rank.
        Pruner lowrank = create("lowrank", Map.of("sparsity", 0.3));
        assertThat(lowrank.requestedSparsity(SMOL)).isEqualTo(0.3);
        double rho = ((org.prunelab.prune.structured.LowRank) lowrank).rankRatioFor(SMOL);
        assertThat(create("lowrank", Map.of("rank_ratio", rho)).requestedSparsity(SMOL)).isCloseTo(0.3, within(0.002));
        assertThat(create("sparsegpt", Map.of("pattern", "4:8")).requestedSparsity(SMOL)).isEqualTo(0.5);
    }

    @Test
    void shapeChecksRunBeforeAnyWeightIsLoaded() {
        assertThatThrownBy(() -> create("wanda", Map.of("pattern", "2:5")).check(SMOL, 0))
                .hasMessageContaining("divisible by 5").hasMessageContaining("layer 0 q_proj has 576");
        assertThatThrownBy(() -> create("shortgpt", Map.of("layers", 30)).check(SMOL, 1000))
                .hasMessageContaining("use layers 29 or fewer");
        assertThatThrownBy(() -> create("fasp", Map.of("sparsity", 0.25)).check(SMOL, 128))
                .hasMessageContaining("fasp restoration refits over 1152 kept inputs but the calibration has only 128 tokens");
        create("fasp", Map.of("sparsity", 0.25, "restore", false)).check(SMOL, 128);
        assertThatThrownBy(() -> create("fasp", Map.of("sparsity", 0.9999)).check(SMOL, 1 << 20))
                .hasMessageContaining("all 1536 MLP channels");
        assertThatThrownBy(() -> create("lowrank", Map.of("rank_ratio", 0.0001)).check(SMOL, 0)).hasMessageContaining("rank 0");
    }

    private static Pruner create(String method, Map<String, ?> params) {
        Method m = Methods.byName(method);
        return m.create(m.args(params));
    }
}
