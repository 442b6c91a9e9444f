package org.prunelab.arch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.SafetensorsFile;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.NormRole;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The Qwen3 family against transformers' {@code Qwen3ForCausalLM}, on the tiny random model that
 * {@code tools/reference/tiny_qwen2_fixture.py --family qwen3} saved as a safetensors folder and as a qwen3 GGUF
 * (fixtures under {@code fixtures/tiny-qwen3/}; no biases, per-head q/k RMSNorm gains that are not all ones): the
 * config, the q/k norms, the logits of both files through {@link ModelLoader} (full forward and the KV-cache path),
 * and a FASP export compared with the logits transformers gives for it
 * ({@code tools/reference/tiny_qwen2_pruned.py --family qwen3}).
 */
class Qwen3ReferenceTest {
    private static final TinyFixture FIXTURE = new TinyFixture("/fixtures/tiny-qwen3/", "qwen3");
    private static final double TOLERANCE = 1e-4;

    /**
     * When set (to a folder), the FASP test also writes its pruned exports into it (as {@code fasp-50} and
     * {@code fasp-75}, which must not exist yet), for {@code tools/reference/tiny_qwen2_pruned.py --family qwen3} to
     * load with transformers (commands in tools/reference/README.md).
     */
    static final String EXPORT_PROPERTY = "prunelab.qwen3.exportTo";

    @ParameterizedTest
    @ValueSource(strings = {"hf", "tiny-qwen3.f32.gguf"})
    void configQkNormsAndLogitsMatchTransformers(String file) throws Exception {
        int[][] seqs = FIXTURE.tokens("tokens.json");
        float[] ref = FIXTURE.floats("logits.bin");
        try (LoadedModel loaded = ModelLoader.load(FIXTURE.resource(file).toString(), PrunelabHome.fromEnvironment())) {
            DecoderConfig c = loaded.config();
            assertThat(c.architecture()).isEqualTo("qwen3");
            assertThat(new int[] {c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                    c.numKeyValueHeads(), c.headDim(), c.vocabSize(), c.maxPositionEmbeddings()})
                    .containsExactly(32, 64, 2, 4, 2, 8, 260, 128);
            assertThat(c.ropeTheta()).isEqualTo(1e6);
            assertThat(c.rmsNormEps()).isCloseTo(1e-6, within(1e-12));
            assertThat(c.ropeScaling()).isNull();
            assertThat(c.tieWordEmbeddings()).isFalse();
            assertThat(c.variant().qkNorm()).as("per-head q/k norms").isTrue();
            assertThat(c.variant().sandwichNorms()).isFalse();
            assertThat(c.variant().layerTypes()).isNull();
            DecoderModel model = loaded.model();
            assertNoBiases(model);
            assertQkNormsNotOnes(model);

            double worst = TinyFixture.maxLogitDiff(model, seqs, ref);
            System.out.printf("tiny-qwen3 %s: max |prunelab - transformers| logit difference %.3g%n", file, worst);
            assertThat(worst).as("max abs logit difference of %s against transformers", file).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /** The GGUF's attn_q_norm / attn_k_norm are the folder's self_attn.q_norm / k_norm, entry for entry. */
    @Test
    void ggufQkNormsAreTheSafetensorsOnes() {
        try (LoadedModel hf = FIXTURE.load();
             LoadedModel gguf = ModelLoader.load(FIXTURE.resource("tiny-qwen3.f32.gguf").toString(), PrunelabHome.fromEnvironment())) {
            for (int l = 0; l < hf.model().blocks().size(); l++) {
                for (NormRole role : List.of(NormRole.QUERY, NormRole.KEY)) {
                    assertThat(gguf.model().block(l).norm(role).weight()).as("layer %d %s norm", l, role)
                            .isEqualTo(hf.model().block(l).norm(role).weight());
                }
            }
        }
    }

    /**
     * The fixture is sensitive to the q/k norms: with their gains set to ones (on a fresh load) the logits move far past
     * the tolerance (transformers moves by 0.779 in tiny_qwen2_fixture.py's printout).
     */
    @Test
    void logitsDependOnTheQkNormGains() throws Exception {
        int[] seq = FIXTURE.tokens("tokens.json")[0];
        float[] ref = Arrays.copyOf(FIXTURE.floats("logits.bin"), seq.length * 260);
        try (LoadedModel loaded = FIXTURE.load()) {
            DecoderModel model = loaded.model();
            assertThat(TinyFixture.maxAbsDiff(model.logits(seq), ref)).isLessThanOrEqualTo(TOLERANCE);
            for (DecoderBlock b : model.blocks()) {
                Arrays.fill(b.norm(NormRole.QUERY).weight(), 1f);
                Arrays.fill(b.norm(NormRole.KEY).weight(), 1f);
            }
            double moved = TinyFixture.maxAbsDiff(model.logits(seq), ref);
            System.out.printf("tiny-qwen3 with q/k norm gains set to ones: max logit difference %.3g%n", moved);
            assertThat(moved).isGreaterThan(0.1);
        }
    }

    /**
     * FASP, uniform allocation. 50% keeps 2 of 4 heads as 2 groups x 1 head (k/v keep their rows); 75% keeps 1 head,
     * so one of the 2 key/value groups goes. The q/k norms act per head over head_dim and stay as they are.
     */
    @ParameterizedTest
    @CsvSource({"0.5, 32, 2, 2", "0.75, 16, 1, 1"})
    void faspExportKeepsTheQkNormsAndMatchesTransformers(double sparsity, int channels, int heads, int groups,
                                                        @TempDir Path tmp) throws Exception {
        String name = "fasp-" + Math.round(sparsity * 100);
        try (LoadedModel dense = FIXTURE.load()) {
            DecoderModel pruned = TinyFixture.prune(dense.model(), "fasp", sparsity).model();
            for (DecoderBlock b : pruned.blocks()) {
                assertThat(b.shape().intermediateSize()).isEqualTo(channels);
                assertThat(b.shape().numAttentionHeads()).isEqualTo(heads);
                assertThat(b.shape().numKeyValueHeads()).isEqualTo(groups);
                for (NormRole role : List.of(NormRole.QUERY, NormRole.KEY)) {
                    assertThat(b.norm(role).weight()).as("layer %d %s norm", b.index(), role)
                            .isEqualTo(dense.model().block(b.index()).norm(role).weight());
                }
            }
            assertNoBiases(pruned);

            Path dir = tmp.resolve(name);
            PrunedModelWriter.write(dir, pruned, dense.tokenizer(), Map.of());
            String exportTo = System.getProperty(EXPORT_PROPERTY);
            if (exportTo != null) PrunedModelWriter.write(Path.of(exportTo, name), pruned, dense.tokenizer(), Map.of());

            String json = Files.readString(dir.resolve("config.json"));
            assertThat(json).contains("\"model_type\" : \"qwen3\"", "\"Qwen3ForCausalLM\"", "\"head_dim\" : 8",
                    "\"attention_bias\" : false").doesNotContain(HfConfig.LAYER_SIZES_KEY);
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                assertThat(f.names()).contains("model.layers.0.self_attn.q_norm.weight", "model.layers.1.self_attn.k_norm.weight")
                        .doesNotContain("model.layers.0.self_attn.q_proj.bias", "model.layers.0.self_attn.o_proj.bias");
            }
            int[][] seqs = FIXTURE.tokens("tokens.json");
            try (LoadedModel back = ModelLoader.load(dir.toString(), PrunelabHome.fromEnvironment())) {
                assertThat(back.config().architecture()).isEqualTo("qwen3");
                assertThat(back.config().variant().qkNorm()).isTrue();
                assertThat(back.config().numAttentionHeads()).isEqualTo(heads);
                assertThat(back.config().numKeyValueHeads()).isEqualTo(groups);
                assertThat(back.config().intermediateSize()).isEqualTo(channels);
                for (int[] s : seqs) assertThat(back.model().logits(s)).isEqualTo(pruned.logits(s));
            }

            // transformers' logits of the same export (tiny_qwen2_pruned.py --family qwen3 on the folder this test writes).
            float[] ref = FIXTURE.floats("pruned-" + name + "/logits.bin");
            int vocab = pruned.config().vocabSize();
            double worst = 0;
            for (int s = 0; s < seqs.length; s++) {
                float[] expected = Arrays.copyOfRange(ref, s * seqs[s].length * vocab, (s + 1) * seqs[s].length * vocab);
                worst = Math.max(worst, TinyFixture.maxAbsDiff(pruned.logits(seqs[s]), expected));
            }
            System.out.printf("tiny-qwen3 %s uniform: max |prunelab - transformers| logit difference %.3g%n", name, worst);
            assertThat(worst).as("pruned logits against transformers on the export").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    // --- helpers ---

    /** attention_bias is false: no linear carries a bias. */
    private static void assertNoBiases(DecoderModel model) {
        for (DecoderBlock b : model.blocks()) {
            for (LinearRole role : LinearRole.values()) {
                assertThat(((DenseLinear) b.linear(role)).bias()).as("layer %d %s bias", b.index(), role).isNull();
            }
        }
    }

    /** Every block has q and k norms over head_dim (8) whose gains are not all ones, so the logits depend on them. */
    private static void assertQkNormsNotOnes(DecoderModel model) {
        for (DecoderBlock b : model.blocks()) {
            for (NormRole role : List.of(NormRole.QUERY, NormRole.KEY)) {
                assertThat(b.norm(role)).as("layer %d %s norm", b.index(), role).isNotNull();
                float[] w = b.norm(role).weight();
                assertThat(w).as("layer %d %s norm", b.index(), role).hasSize(8);
                float[] ones = new float[8];
                Arrays.fill(ones, 1f);
                assertThat(w).as("layer %d %s norm gains", b.index(), role).isNotEqualTo(ones);
            }
        }
    }

}
