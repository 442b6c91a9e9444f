package org.prunelab.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.prunelab.Progress;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.SafetensorsFile;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.KvCache;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.NormRole;
import org.prunelab.prune.Method;
import org.prunelab.prune.Methods;
import org.prunelab.prune.PruneOptions;
import org.prunelab.prune.PruneOutcome;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The Gemma 3 family against transformers' {@code Gemma3ForCausalLM}, on the tiny random model that
 * {@code tools/reference/tiny_qwen2_fixture.py --family gemma3} saved (fixtures under {@code fixtures/tiny-gemma3/}):
 * 4 layers whose types mix sliding-window (window 5, RoPE base 1e4) and global attention (base 1e6), 4 query / 2
 * key-value heads of head_dim 16 (not hidden / heads), query_pre_attn_scalar 24, tied embeddings scaled by
 * sqrt(hidden), norm weights w stored as transformers keeps them (gain 1 + w) with w far from 0, q/k and sandwich
 * norms, GELU-tanh. The logits through {@link ModelLoader} (full forward and the KV-cache path, on 12-token sequences,
 * longer than the window), and FASP and ShortGPT exports compared with the logits transformers gives for them
 * ({@code tools/reference/tiny_qwen2_pruned.py --family gemma3}).
 */
class Gemma3TinyReferenceTest {
    private static final TinyFixture FIXTURE = new TinyFixture("/fixtures/tiny-gemma3/", "gemma3");
    private static final double TOLERANCE = 1e-4;
    private static final List<String> LAYER_TYPES = List.of(DecoderConfig.Variant.SLIDING_ATTENTION,
            DecoderConfig.Variant.FULL_ATTENTION, DecoderConfig.Variant.SLIDING_ATTENTION, DecoderConfig.Variant.SLIDING_ATTENTION);

    /**
     * When set (to a folder), the export tests also write their pruned models into it (as {@code fasp-50},
     * {@code fasp-75} and {@code shortgpt-1}, which must not exist yet), for
     * {@code tools/reference/tiny_qwen2_pruned.py --family gemma3} to load with transformers (commands in
     * tools/reference/README.md).
     */
    static final String EXPORT_PROPERTY = "prunelab.gemma3.exportTo";

    @Test
    void configAndLogitsMatchTransformers() throws Exception {
        int[][] seqs = FIXTURE.tokens("tokens.json");
        float[] ref = FIXTURE.floats("logits.bin");
        try (LoadedModel loaded = FIXTURE.load()) {
            DecoderConfig c = loaded.config();
            assertThat(c.architecture()).isEqualTo("gemma3");
            assertThat(new int[] {c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                    c.numKeyValueHeads(), c.headDim(), c.vocabSize(), c.maxPositionEmbeddings()})
                    .containsExactly(32, 64, 4, 4, 2, 16, 260, 128);
            assertThat(c.ropeTheta()).isEqualTo(1e6);
            assertThat(c.rmsNormEps()).isCloseTo(1e-6, within(1e-12));
            assertThat(c.ropeScaling()).isNull();
            assertThat(c.tieWordEmbeddings()).isTrue();
            DecoderConfig.Variant v = c.variant();
            assertThat(v.activation()).isEqualTo(DecoderConfig.Activation.GELU_TANH);
            assertThat(v.qkNorm()).isTrue();
            assertThat(v.sandwichNorms()).isTrue();
            assertThat(v.embeddingScale()).isEqualTo((float) Math.sqrt(32));
            assertThat(v.queryPreAttnScalar()).isEqualTo(24);
            assertThat(v.slidingWindow()).isEqualTo(5);
            assertThat(v.layerTypes()).isEqualTo(LAYER_TYPES);
            assertThat(v.ropeLocalTheta()).isEqualTo(1e4);
            assertThat(v.finalLogitSoftcap()).isZero();
            DecoderModel model = loaded.model();
            for (int l = 0; l < 4; l++) {
                assertThat(model.block(l).slidingWindow()).as("layer %d window", l).isEqualTo(l == 1 ? 0 : 5);
            }
            assertNoBiases(model);

            int vocab = c.vocabSize();
            double worst = 0;
            for (int s = 0; s < seqs.length; s++) {
                worst = Math.max(worst, TinyFixture.maxAbsDiff(model.logits(seqs[s]), rows(ref, s, 0, seqs[s].length, seqs[s].length, vocab)));
            }
            double full = worst;
            // The cached path: a prefill shorter than the window (3) and one longer (7), then one token at a time
            // until 12, past the window.
            for (int s = 0; s < 2; s++) {
                int[] seq = seqs[s];
                int pre = s == 0 ? 3 : 7;
                KvCache cache = model.newCache(seq.length);
                float[] last = model.prefill(Arrays.copyOf(seq, pre), cache);
                worst = Math.max(worst, TinyFixture.maxAbsDiff(last, rows(ref, s, pre - 1, pre, seq.length, vocab)));
                for (int t = pre; t < seq.length; t++) {
                    worst = Math.max(worst, TinyFixture.maxAbsDiff(model.decode(seq[t], cache), rows(ref, s, t, t + 1, seq.length, vocab)));
                }
            }
            System.out.printf("tiny-gemma3 hf: max |prunelab - transformers| logit difference %.3g full forward,"
                    + " %.3g with the KV-cache path%n", full, worst);
            assertThat(worst).as("max abs logit difference against transformers").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /**
     * The checkpoint stores w, the model multiplies by 1 + w: the loaded gains are the stored weights plus one, and
     * with the stored w taken as the gain (a forgotten offset) the logits move far past the tolerance
     * (transformers moves by 5.17 in tiny_qwen2_fixture.py's printout).
     */
    @Test
    void normGainsAreOnePlusTheStoredWeights() throws Exception {
        int[] seq = FIXTURE.tokens("tokens.json")[0];
        float[] ref = Arrays.copyOf(FIXTURE.floats("logits.bin"), seq.length * 260);
        try (LoadedModel loaded = FIXTURE.load();
             SafetensorsFile f = SafetensorsFile.open(FIXTURE.resource("hf").resolve("model.safetensors"))) {
            DecoderModel model = loaded.model();
            assertThat(model.norm().weight()).isEqualTo(plusOne(f.vector("model.norm.weight")));
            for (DecoderBlock b : model.blocks()) {
                String p = "model.layers." + b.index() + ".";
                assertThat(b.norm(NormRole.ATTENTION_INPUT).weight()).isEqualTo(plusOne(f.vector(p + "input_layernorm.weight")));
                assertThat(b.norm(NormRole.ATTENTION_OUTPUT).weight()).isEqualTo(plusOne(f.vector(p + "post_attention_layernorm.weight")));
                assertThat(b.norm(NormRole.MLP_INPUT).weight()).isEqualTo(plusOne(f.vector(p + "pre_feedforward_layernorm.weight")));
                assertThat(b.norm(NormRole.MLP_OUTPUT).weight()).isEqualTo(plusOne(f.vector(p + "post_feedforward_layernorm.weight")));
                assertThat(b.norm(NormRole.QUERY).weight()).hasSize(16).isEqualTo(plusOne(f.vector(p + "self_attn.q_norm.weight")));
                assertThat(b.norm(NormRole.KEY).weight()).hasSize(16).isEqualTo(plusOne(f.vector(p + "self_attn.k_norm.weight")));
            }
            assertThat(f.names()).doesNotContain("lm_head.weight");

            assertThat(TinyFixture.maxAbsDiff(model.logits(seq), ref)).isLessThanOrEqualTo(TOLERANCE);
            minusOne(model.norm().weight());
            for (DecoderBlock b : model.blocks()) for (var n : b.norms().values()) minusOne(n.weight());
            double moved = TinyFixture.maxAbsDiff(model.logits(seq), ref);
            System.out.printf("tiny-gemma3 with the stored w as the norm gains: max logit difference %.3g%n", moved);
            assertThat(moved).isGreaterThan(0.1);
        }
    }

    /**
     * FASP, uniform allocation: 50% keeps 2 of 4 heads as 2 groups x 1 head and 32 of 64 channels; 75% keeps 1 head
     * (one of the 2 key/value groups goes) and 16 channels. The norms (q/k over head_dim, the sandwich norms over
     * hidden) are not touched, so the export stores the dense checkpoint's w for each.
     */
    @ParameterizedTest
    @CsvSource({"0.5, 32, 2, 2", "0.75, 16, 1, 1"})
    void faspExportReloadsInTransformers(double sparsity, int channels, int heads, int groups, @TempDir Path tmp) throws Exception {
        String name = "fasp-" + Math.round(sparsity * 100);
        try (LoadedModel dense = FIXTURE.load()) {
            Method m = Methods.byName("fasp");
            DecoderModel pruned = m.create(m.args(Map.of("sparsity", sparsity, "allocation", "uniform")))
                    .prune(dense.model(), TinyFixture.windows(260), PruneOptions.keepInput(Progress.NONE)).model();
            for (DecoderBlock b : pruned.blocks()) {
                assertThat(b.shape().intermediateSize()).isEqualTo(channels);
                assertThat(b.shape().numAttentionHeads()).isEqualTo(heads);
                assertThat(b.shape().numKeyValueHeads()).isEqualTo(groups);
            }
            assertNoBiases(pruned);
            Path dir = export(tmp, name, dense, pruned);
            JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
            assertThat(config.path("num_attention_heads").asInt()).isEqualTo(heads);
            assertThat(config.path("num_key_value_heads").asInt()).isEqualTo(groups);
            assertThat(config.path("intermediate_size").asInt()).isEqualTo(channels);
            assertThat(config.path("head_dim").asInt()).isEqualTo(16);
            assertThat(layerTypes(config)).isEqualTo(LAYER_TYPES);
            // The norms go out as the stored w, the dense checkpoint's up to the float rounding of 1 + w on load
            // (at most half an ulp of 1 + w, below 1e-7; gains written as 1 + w would be off by 1).
            try (SafetensorsFile in = SafetensorsFile.open(FIXTURE.resource("hf").resolve("model.safetensors"));
                 SafetensorsFile out = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                for (String n : in.names()) {
                    if (n.endsWith("norm.weight")) assertThat(out.vector(n)).as(n).containsExactly(in.vector(n), within(1e-7f));
                }
                assertThat(out.names()).doesNotContain("lm_head.weight");
            }
            assertThat(FIXTURE.maxExportDiff(name, pruned)).as("pruned logits against transformers").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /**
     * ShortGPT removing one block: the fixture's block 0 barely turns the residual stream (its post-attention and
     * post-feedforward gains are near 0.1), so it goes, and the export's layer_types are those of the blocks that stay,
     * full, sliding, sliding (a list cut short would read sliding, full, sliding), which transformers uses to pick each
     * layer's mask and RoPE base.
     */
    @Test
    void shortGptExportKeepsTheLayerTypesOfTheRemainingBlocks(@TempDir Path tmp) throws Exception {
        try (LoadedModel dense = FIXTURE.load()) {
            Method m = Methods.byName("shortgpt");
            PruneOutcome outcome = m.create(m.args(Map.of("layers", 1)))
                    .prune(dense.model(), TinyFixture.windows(260), PruneOptions.keepInput(Progress.NONE));
            System.out.printf("tiny-gemma3 shortgpt-1: removed %s, block influence %s%n", outcome.removedLayers(),
                    outcome.extra().get("block_influence"));
            assertThat(outcome.removedLayers()).containsExactly(0);
            DecoderModel pruned = outcome.model();
            List<String> expected = LAYER_TYPES.subList(1, 4);
            assertThat(pruned.blocks()).hasSize(3);
            assertThat(pruned.config().variant().layerTypes()).isEqualTo(expected);
            for (int l = 0; l < 3; l++) {
                assertThat(pruned.block(l).slidingWindow()).as("kept block %d window", l).isEqualTo(l == 0 ? 0 : 5);
            }
            Path dir = export(tmp, "shortgpt-1", dense, pruned);
            JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
            assertThat(config.path("num_hidden_layers").asInt()).isEqualTo(3);
            assertThat(layerTypes(config)).isEqualTo(expected);
            try (SafetensorsFile out = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                assertThat(out.names()).contains("model.layers.2.input_layernorm.weight")
                        .doesNotContain("model.layers.3.input_layernorm.weight");
            }
            assertThat(FIXTURE.maxExportDiff("shortgpt-1", pruned)).as("pruned logits against transformers").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    // --- helpers ---

    /** Writes the export (and its copy under {@value #EXPORT_PROPERTY}), reloads it, and checks the same logits. */
    private static Path export(Path tmp, String name, LoadedModel dense, DecoderModel pruned) throws IOException {
        Path dir = tmp.resolve(name);
        PrunedModelWriter.write(dir, pruned, dense.tokenizer(), Map.of());
        String exportTo = System.getProperty(EXPORT_PROPERTY);
        if (exportTo != null) PrunedModelWriter.write(Path.of(exportTo, name), pruned, dense.tokenizer(), Map.of());
        String json = Files.readString(dir.resolve("config.json"));
        assertThat(json).contains("\"model_type\" : \"gemma3_text\"", "\"Gemma3ForCausalLM\"",
                "\"hidden_activation\" : \"gelu_pytorch_tanh\"", "\"sliding_window\" : 5",
                // an integer: transformers 5 refuses 24.0 for Gemma3TextConfig's int field
                "\"query_pre_attn_scalar\" : 24,").doesNotContain(HfConfig.LAYER_SIZES_KEY);
        try (LoadedModel back = ModelLoader.load(dir.toString(), PrunelabHome.fromEnvironment())) {
            DecoderConfig.Variant v = back.config().variant();
            assertThat(back.config().architecture()).isEqualTo("gemma3");
            assertThat(v.queryPreAttnScalar()).isEqualTo(24);
            assertThat(v.ropeLocalTheta()).isEqualTo(1e4);
            assertThat(back.config().ropeTheta()).isEqualTo(1e6);
            for (int[] s : FIXTURE.tokens("tokens.json")) assertThat(back.model().logits(s)).isEqualTo(pruned.logits(s));
        }
        return dir;
    }

    private static List<String> layerTypes(JsonNode config) {
        List<String> types = new ArrayList<>();
        for (JsonNode t : config.path("layer_types")) types.add(t.asText());
        return types;
    }

    /** attention_bias is false and Gemma 3's MLP has none: no linear carries a bias. */
    private static void assertNoBiases(DecoderModel model) {
        for (DecoderBlock b : model.blocks()) {
            for (LinearRole role : LinearRole.values()) {
                assertThat(((DenseLinear) b.linear(role)).bias()).as("layer %d %s bias", b.index(), role).isNull();
            }
        }
    }

    private static float[] plusOne(float[] w) {
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) out[i] = w[i] + 1f;
        return out;
    }

    private static void minusOne(float[] w) {
        for (int i = 0; i < w.length; i++) w[i] -= 1f;
    }

    /** Rows [from, to) of sequence s in a [sequences, len, vocab] array. */
    private static float[] rows(float[] all, int s, int from, int to, int len, int vocab) {
        return Arrays.copyOfRange(all, (s * len + from) * vocab, (s * len + to) * vocab);
    }

}
