package org.prunelab.prune;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.prunelab.tensor.FloatMatrix;

/**
 * Compares the methods with fixtures from {@code tools/reference/prune_reference.py}: seeded random
 * matrices (with a dead input, a row of ties at the magnitude threshold, equal Wanda scores) and block 0
 * {@code q_proj} / {@code down_proj} of SmolLM2-135M with their real inputs on Brown text.
 */
class PruneReferenceTest {

    static Stream<JsonNode> cases(String method) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode c : PruneFixtures.load().index.get("cases")) {
            if (c.get("method").asText().equals(method)) out.add(c);
        }
        return out.stream();
    }

    static Stream<JsonNode> maskCases() {
        return Stream.concat(cases("magnitude"), cases("wanda"));
    }

    static Stream<JsonNode> sparsegptCases() {
        return cases("sparsegpt");
    }

    /** Feeds the inputs in two uneven batches, as a calibration loop over windows would. */
    static <S extends CalibrationStats> S statsFor(PruningMethod<S> method, JsonNode c) {
        PruneFixtures f = PruneFixtures.load();
        float[] x = f.floats(c.get("inputs").asText());
        int[] shape = f.shape(c.get("inputs").asText());
        S stats = method.newStats(shape[1]);
        int first = shape[0] / 3;
        stats.add(x, first);
        stats.add(java.util.Arrays.copyOfRange(x, first * shape[1], x.length), shape[0] - first);
        assertThat(stats.tokens()).isEqualTo(shape[0]);
        return stats;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("maskCases")
    void masksMatchReference(JsonNode c) {
        PruneFixtures f = PruneFixtures.load();
        FloatMatrix original = f.matrix(c.get("weight").asText());
        FloatMatrix weight = original.copy();
        SparsityPattern pattern = SparsityPattern.parse(c.get("pattern").asText());
        PruneResult result = switch (c.get("method").asText()) {
            case "magnitude" -> prune(new MagnitudePruner(), weight, c, pattern);
            case "wanda" -> prune(new WandaPruner(), weight, c, pattern);
            default -> throw new IllegalArgumentException(c.toString());
        };
        Mask expected = f.mask(c.get("mask").asText());
        assertThat(result.mask().prunedCount()).isEqualTo(c.get("pruned").asLong());
        assertThat(result.mask()).isEqualTo(expected);
        for (int r = 0; r < weight.rows(); r++) {
            for (int col = 0; col < weight.cols(); col++) {
                float want = expected.isPruned(r, col) ? 0f : original.get(r, col);
                assertThat(weight.get(r, col)).isEqualTo(want);
            }
        }
    }

    private static <S extends CalibrationStats> PruneResult prune(PruningMethod<S> m, FloatMatrix w, JsonNode c,
                                                                  SparsityPattern p) {
        return m.prune(w, statsFor(m, c), p);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("sparsegptCases")
    void sparseGptMatchesReference(JsonNode c) {
        PruneFixtures f = PruneFixtures.load();
        FloatMatrix weight = f.matrix(c.get("weight").asText());
        SparseGptPruner method = new SparseGptPruner();
        PruneResult result = method.prune(weight, statsFor(method, c), SparsityPattern.parse(c.get("pattern").asText()));

        Mask expectedMask = f.mask(c.get("mask").asText());
        float[] kept = f.floats(c.get("kept_values").asText());
        float[] expected = new float[weight.data().length];
        int k = 0;
        for (int i = 0; i < expected.length; i++) {
            if (!expectedMask.isPruned(i / weight.cols(), i % weight.cols())) expected[i] = kept[k++];
        }
        assertThat(k).isEqualTo(kept.length);
        assertThat(result.mask()).isEqualTo(expectedMask);
        assertThat(result.percdamp()).isEqualTo(0.01);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += Math.pow((double) weight.data()[i] - expected[i], 2);
            norm += Math.pow(expected[i], 2);
        }
        assertThat(Math.sqrt(diff / norm)).as("relative Frobenius error").isLessThan(1e-4);
    }

    @Test
    void owlMatchesReference() {
        PruneFixtures f = PruneFixtures.load();
        OwlAllocator owl = new OwlAllocator(f.index.get("owl").get("M").asDouble(), f.index.get("owl").get("lambda").asDouble());
        List<List<double[]>> blocks = new ArrayList<>();
        cases("owl_block").forEach(c -> {
            List<double[]> mats = new ArrayList<>();
            for (JsonNode name : c.get("scores")) {
                float[] s = f.floats(name.asText());
                double[] d = new double[s.length];
                for (int i = 0; i < s.length; i++) d[i] = s[i];
                mats.add(d);
            }
            blocks.add(mats);
        });
        double[] ratios = f.doubles(f.index.get("owl").get("outlier_ratios").asText());
        assertThat(blocks).hasSize(ratios.length);
        for (int l = 0; l < blocks.size(); l++) {
            assertThat(owl.outlierRatio(blocks.get(l))).isCloseTo(ratios[l], org.assertj.core.data.Offset.offset(1e-12));
        }
        for (double s : new double[] {0.5, 0.7}) {
            double[] expected = f.doubles(f.index.get("owl").get("sparsities_" + s).asText());
            double[] got = owl.allocateFromScores(blocks, s);
            for (int l = 0; l < expected.length; l++) {
                assertThat(got[l]).isCloseTo(expected[l], org.assertj.core.data.Offset.offset(1e-6));
            }
        }
    }
}
