package org.prunelab.arch;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.bench.RandomWeights;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Tokenizer;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.LoadedModel;
import org.prunelab.prune.Method;
import org.prunelab.prune.Methods;
import org.prunelab.prune.PruneOutcome;
import org.prunelab.prune.Pruner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every registered method (and the variants with their own code paths) on a tiny random model of every registered
 * family: it prunes, the result runs, and it saves and loads back with the same logits — or, where the family's
 * checkpoints cannot hold what the method adds (FLAP's biases on o_proj / down_proj for Gemma 3 and Qwen2), the
 * save is refused naming the family and the linear. Random weights: algebra only, no quality claim.
 */
class EveryMethodEveryArchitectureTest {
    private static final int VOCAB = 50;

    /** A tiny config of each registered family: 4 blocks, hidden 32, head_dim 8. */
    static DecoderConfig tiny(String family) {
        return switch (family) {
            // 4 heads in 2 key/value groups, so head removal has room.
            case "llama", "qwen2" -> new DecoderConfig(family, 32, 48, 4, 4, 2, 8, VOCAB, 64, 1e-6, 10000, null,
                    family.equals("llama"), 1, 2, DecoderConfig.Variant.LLAMA);
            case "qwen3" -> new DecoderConfig(family, 32, 48, 4, 4, 2, 8, VOCAB, 64, 1e-6, 1_000_000, null, false, 1, 2,
                    new DecoderConfig.Variant(DecoderConfig.Activation.SILU, true, false, 1.0, 0, 0, null, 0, 0));
            // Gemma 3 270M's shape in small: one key/value head, head_dim not hidden/heads, sliding layers (window 5)
            // beside a global one with another RoPE base, q/k norms, sandwich norms, GELU, scaled embedding.
            case "gemma3" -> new DecoderConfig(family, 32, 48, 4, 4, 1, 16, VOCAB, 64, 1e-6, 1_000_000, null, true, 2, 1,
                    new DecoderConfig.Variant(DecoderConfig.Activation.GELU_TANH, true, true, (float) Math.sqrt(32), 16, 5,
                            List.of("sliding_attention", "sliding_attention", "sliding_attention", "full_attention"),
                            10_000, 0));
            default -> throw new IllegalArgumentException(family);
        };
    }

    /** Every registered method at sparsity 0.25, plus the variants that run other code. */
    static Map<String, Map<String, Object>> runs() {
        Map<String, Map<String, Object>> r = new LinkedHashMap<>();
        for (Method m : Methods.all()) r.put(m.name(), Map.of("sparsity", 0.25));
        r.put("wanda 2:4", Map.of("pattern", "2:4"));
        r.put("sparsegpt owl", Map.of("sparsity", 0.5, "owl", true));
        r.put("fasp global", Map.of("sparsity", 0.25, "allocation", "global"));
        r.put("flap uniform", Map.of("sparsity", 0.25, "allocation", "uniform"));
        r.put("lowrank aw", Map.of("rank_ratio", 0.5, "activation_weighted", true));
        return r;
    }

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (Architecture a : Architectures.all()) {
            for (Map.Entry<String, Map<String, Object>> run : runs().entrySet()) {
                all.add(Arguments.of(a.name(), run.getKey(), run.getValue()));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("cases")
    void prunesRunsAndSavesOrRefuses(String family, String run, Map<String, Object> params, @TempDir Path tmp) throws Exception {
        DecoderConfig config = tiny(family);
        DecoderModel dense = ModelLoader.build(config, new RandomWeights(config, 7, 0.2));
        Method method = Methods.byName(run.split(" ")[0]);
        Pruner pruner = method.create(method.args(params));
        SplittableRandom rnd = new SplittableRandom(3);
        List<int[]> windows = new ArrayList<>();
        for (int i = 0; i < 6; i++) windows.add(rnd.ints(16, 0, VOCAB).toArray());

        PruneOutcome outcome = pruner.prune(dense, windows, org.prunelab.prune.PruneOptions.keepInput(Progress.NONE));

        DecoderModel pruned = outcome.model();
        assertThat(pruned.config().architecture()).isEqualTo(family);
        assertThat(outcome.actualSparsity()).as("share of linear parameters removed or zero").isGreaterThan(0.05);
        int[] tokens = rnd.ints(12, 0, VOCAB).toArray();
        float[] logits = pruned.logits(tokens);
        for (float v : logits) assertThat(v).isFinite();

        Path dir = tmp.resolve("out");
        try (Tokenizer tok = Tokenizer.fromTokenizerJson(Files.writeString(tmp.resolve("tokenizer.json"),
                PrunedModelWriterTest.MINIMAL_TOKENIZER))) {
            boolean savable = Architectures.named(family).cannotSave(pruner.addsBiasTo()).isEmpty();
            if (!savable) {
                assertThatThrownBy(() -> PrunedModelWriter.write(dir, pruned, tok, Map.of()))
                        .isInstanceOf(PrunelabException.InvalidArgument.class)
                        .hasMessageContaining("a " + family + " checkpoint").hasMessageContaining("down_proj");
                assertThat(dir).doesNotExist();
                return;
            }
            PrunedModelWriter.write(dir, pruned, tok, Map.of());
        }
        // The header check every run's plan makes agrees with what was saved (per-block widths, factors, fewer blocks).
        assertThat(ModelLoader.inspect(dir.toString(), PrunelabHome.fromEnvironment()).config().numHiddenLayers())
                .isEqualTo(pruned.config().numHiddenLayers());
        try (LoadedModel back = ModelLoader.load(dir.toString(), PrunelabHome.fromEnvironment())) {
            assertThat(back.config().architecture()).isEqualTo(family);
            assertThat(back.model().logits(tokens)).isEqualTo(logits);
        }
    }
}
