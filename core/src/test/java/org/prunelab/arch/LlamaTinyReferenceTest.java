package org.prunelab.arch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.SafetensorsFile;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.KvCache;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LoadedModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The Llama family against transformers' {@code LlamaForCausalLM}, on the tiny random model that
 * {@code tools/reference/tiny_qwen2_fixture.py --family llama} saved as a safetensors folder (fixtures under
 * {@code fixtures/tiny-llama-hf/}; 2 layers, 4 query / 2 key-value heads of head_dim 8, untied LM head, no biases,
 * norm gains not all ones): the logits through {@link ModelLoader} (full forward and the KV-cache path), and FASP
 * (50%, 75%) and FLAP (50%, whose compensation biases a Llama checkpoint holds with attention_bias / mlp_bias) exports
 * compared with the logits transformers gives for them ({@code tools/reference/tiny_qwen2_pruned.py --family llama}).
 */
class LlamaTinyReferenceTest {
    private static final TinyFixture FIXTURE = new TinyFixture("/fixtures/tiny-llama-hf/", "llama");
    private static final double TOLERANCE = 1e-4;

    /**
     * When set (to a folder), the export tests also write their pruned models into it (as {@code fasp-50},
     * {@code fasp-75} and {@code flap-50}, which must not exist yet), for
     * {@code tools/reference/tiny_qwen2_pruned.py --family llama} to load with transformers (commands in
     * tools/reference/README.md).
     */
    static final String EXPORT_PROPERTY = "prunelab.llama.exportTo";

    @Test
    void configAndLogitsMatchTransformers() throws Exception {
        int[][] seqs = FIXTURE.tokens("tokens.json");
        float[] ref = FIXTURE.floats("logits.bin");
        try (LoadedModel loaded = FIXTURE.load()) {
            DecoderConfig c = loaded.config();
            assertThat(c.architecture()).isEqualTo("llama");
            assertThat(new int[] {c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                    c.numKeyValueHeads(), c.headDim(), c.vocabSize(), c.maxPositionEmbeddings()})
                    .containsExactly(32, 64, 2, 4, 2, 8, 260, 128);
            assertThat(c.ropeTheta()).isEqualTo(1e4);
            assertThat(c.rmsNormEps()).isCloseTo(1e-5, within(1e-12));
            assertThat(c.ropeScaling()).isNull();
            assertThat(c.tieWordEmbeddings()).isFalse();
            assertThat(c.variant()).isEqualTo(DecoderConfig.Variant.LLAMA);
            DecoderModel model = loaded.model();
            for (DecoderBlock b : model.blocks()) {
                for (LinearRole role : LinearRole.values()) {
                    assertThat(((DenseLinear) b.linear(role)).bias()).as("layer %d %s bias", b.index(), role).isNull();
                }
            }

            int vocab = c.vocabSize();
            double worst = 0;
            for (int s = 0; s < seqs.length; s++) {
                worst = Math.max(worst, TinyFixture.maxAbsDiff(model.logits(seqs[s]), rows(ref, s, 0, seqs[s].length, seqs[s].length, vocab)));
            }
            double full = worst;
            int[] seq = seqs[0];
            KvCache cache = model.newCache(seq.length);
            float[] last = model.prefill(Arrays.copyOf(seq, 5), cache);
            worst = Math.max(worst, TinyFixture.maxAbsDiff(last, rows(ref, 0, 4, 5, seq.length, vocab)));
            for (int t = 5; t < seq.length; t++) {
                worst = Math.max(worst, TinyFixture.maxAbsDiff(model.decode(seq[t], cache), rows(ref, 0, t, t + 1, seq.length, vocab)));
            }
            System.out.printf("tiny-llama-hf: max |prunelab - transformers| logit difference %.3g full forward,"
                    + " %.3g with the KV-cache path%n", full, worst);
            assertThat(worst).as("max abs logit difference against transformers").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /**
     * FASP, uniform allocation: 50% keeps 2 of 4 heads as 2 groups x 1 head and 32 of 64 channels; 75% keeps 1 head
     * (one of the 2 key/value groups goes) and 16 channels. No biases are added.
     */
    @ParameterizedTest
    @CsvSource({"0.5, 32, 2, 2", "0.75, 16, 1, 1"})
    void faspExportReloadsInTransformers(double sparsity, int channels, int heads, int groups, @TempDir Path tmp) throws Exception {
        String name = "fasp-" + Math.round(sparsity * 100);
        try (LoadedModel dense = FIXTURE.load()) {
            DecoderModel pruned = TinyFixture.prune(dense.model(), "fasp", sparsity).model();
            for (DecoderBlock b : pruned.blocks()) {
                assertThat(b.shape().intermediateSize()).isEqualTo(channels);
                assertThat(b.shape().numAttentionHeads()).isEqualTo(heads);
                assertThat(b.shape().numKeyValueHeads()).isEqualTo(groups);
            }
            JsonNode config = export(tmp, name, dense, pruned);
            assertThat(config.path("attention_bias").asBoolean()).isFalse();
            assertThat(config.path("mlp_bias").asBoolean()).isFalse();
            assertThat(FIXTURE.maxExportDiff(name, pruned)).as("pruned logits against transformers").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /**
     * FLAP at 50%, uniform: its compensation biases on o_proj and down_proj go into a Llama checkpoint with
     * attention_bias and mlp_bias on (q/k/v and gate/up then carry zero biases, as transformers' flags switch them on
     * per group), and transformers reloads the export to the same logits.
     */
    @Test
    void flapExportWithCompensationBiasesReloadsInTransformers(@TempDir Path tmp) throws Exception {
        try (LoadedModel dense = FIXTURE.load()) {
            DecoderModel pruned = TinyFixture.prune(dense.model(), "flap", 0.5).model();
            for (DecoderBlock b : pruned.blocks()) {
                assertThat(((DenseLinear) b.linear(LinearRole.O)).bias()).as("layer %d o_proj bias", b.index()).isNotNull();
                assertThat(((DenseLinear) b.linear(LinearRole.DOWN)).bias()).as("layer %d down_proj bias", b.index()).isNotNull();
            }
            JsonNode config = export(tmp, "flap-50", dense, pruned);
            assertThat(config.path("attention_bias").asBoolean()).isTrue();
            assertThat(config.path("mlp_bias").asBoolean()).isTrue();
            assertThat(FIXTURE.maxExportDiff("flap-50", pruned)).as("pruned logits against transformers").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    // --- helpers ---

    /** Writes the export (and its copy under {@value #EXPORT_PROPERTY}), reloads it to the same logits; its config. */
    private static JsonNode export(Path tmp, String name, LoadedModel dense, DecoderModel pruned) throws IOException {
        Path dir = tmp.resolve(name);
        PrunedModelWriter.write(dir, pruned, dense.tokenizer(), Map.of());
        String exportTo = System.getProperty(EXPORT_PROPERTY);
        if (exportTo != null) PrunedModelWriter.write(Path.of(exportTo, name), pruned, dense.tokenizer(), Map.of());
        String json = Files.readString(dir.resolve("config.json"));
        assertThat(json).contains("\"model_type\" : \"llama\"", "\"LlamaForCausalLM\"", "\"head_dim\" : 8")
                .doesNotContain(HfConfig.LAYER_SIZES_KEY);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(f.names()).contains("lm_head.weight");
        }
        try (LoadedModel back = ModelLoader.load(dir.toString(), PrunelabHome.fromEnvironment())) {
            assertThat(back.config().architecture()).isEqualTo("llama");
            for (int[] s : FIXTURE.tokens("tokens.json")) assertThat(back.model().logits(s)).isEqualTo(pruned.logits(s));
        }
        return new ObjectMapper().readTree(json);
    }

    /** Rows [from, to) of sequence s in a [sequences, len, vocab] array. */
    private static float[] rows(float[] all, int s, int from, int to, int len, int vocab) {
        return Arrays.copyOfRange(all, (s * len + from) * vocab, (s * len + to) * vocab);
    }

}
