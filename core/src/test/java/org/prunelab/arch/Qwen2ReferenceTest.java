package org.prunelab.arch;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.SafetensorsFile;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LoadedModel;
import org.prunelab.prune.PruneOutcome;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Qwen2 family against transformers' {@code Qwen2ForCausalLM}, on the tiny random model that
 * {@code tools/reference/tiny_qwen2_fixture.py} saved as a safetensors folder and as a qwen2 GGUF (fixtures under
 * {@code fixtures/tiny-qwen2/}): the config, where the biases are, the logits of both files through
 * {@link ModelLoader}, and structured pruning (FASP, FLAP) cutting the q/k/v biases with their rows. The FASP export
 * is compared with the logits transformers gives for it ({@code tools/reference/tiny_qwen2_pruned.py}).
 */
class Qwen2ReferenceTest {
    private static final TinyFixture FIXTURE = new TinyFixture("/fixtures/tiny-qwen2/", "qwen2");
    private static final double TOLERANCE = 1e-4;
    private static final Set<LinearRole> QKV = EnumSet.of(LinearRole.Q, LinearRole.K, LinearRole.V);

    /**
     * When set (to a folder), the FASP test also writes its pruned exports into it (as {@code fasp-50} and
     * {@code fasp-75}, which must not exist yet), for {@code tools/reference/tiny_qwen2_pruned.py} to load with
     * transformers (commands in tools/reference/README.md).
     */
    static final String EXPORT_PROPERTY = "prunelab.qwen2.exportTo";

    @ParameterizedTest
    @ValueSource(strings = {"hf", "tiny-qwen2.f32.gguf"})
    void configBiasesAndLogitsMatchTransformers(String file) throws Exception {
        int[][] seqs = FIXTURE.tokens("tokens.json");
        float[] ref = FIXTURE.floats("logits.bin");
        try (LoadedModel loaded = ModelLoader.load(FIXTURE.resource(file).toString(), PrunelabHome.fromEnvironment())) {
            DecoderConfig c = loaded.config();
            assertThat(c.architecture()).isEqualTo("qwen2");
            assertThat(new int[] {c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(),
                    c.numKeyValueHeads(), c.headDim(), c.vocabSize(), c.maxPositionEmbeddings()})
                    .containsExactly(32, 64, 2, 4, 2, 8, 260, 128);
            assertThat(c.ropeTheta()).isEqualTo(1e6);
            assertThat(c.rmsNormEps()).isCloseTo(1e-6, org.assertj.core.api.Assertions.within(1e-12));
            assertThat(c.ropeScaling()).isNull();
            assertThat(c.tieWordEmbeddings()).isFalse();
            assertThat(c.variant()).isEqualTo(DecoderConfig.Variant.LLAMA);
            DecoderModel model = loaded.model();
            assertBiasesOnQkvOnly(model);

            double worst = TinyFixture.maxLogitDiff(model, seqs, ref);
            System.out.printf("tiny-qwen2 %s: max |prunelab - transformers| logit difference %.3g%n", file, worst);
            assertThat(worst).as("max abs logit difference of %s against transformers", file).isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /**
     * FASP, uniform allocation. 50% keeps 2 of 4 heads as 2 groups x 1 head (k/v keep their rows, q and the MLP are
     * cut); 75% keeps 1 head, so one of the 2 key/value groups goes and k/v with their biases are cut too.
     */
    @ParameterizedTest
    @CsvSource({"0.5, 32, 2, 2", "0.75, 16, 1, 1"})
    void faspCutsTheQkvBiasesWithTheirRowsAndTheExportMatchesTransformers(double sparsity, int channels, int heads, int groups,
                                                                           @TempDir Path tmp) throws Exception {
        String name = "fasp-" + Math.round(sparsity * 100);
        try (LoadedModel dense = FIXTURE.load()) {
            PruneOutcome outcome = TinyFixture.prune(dense.model(), "fasp", sparsity);
            DecoderModel pruned = outcome.model();
            for (DecoderBlock b : pruned.blocks()) {
                assertThat(b.shape().intermediateSize()).isEqualTo(channels);
                assertThat(b.shape().numAttentionHeads()).isEqualTo(heads);
                assertThat(b.shape().numKeyValueHeads()).isEqualTo(groups);
                assertThat(bias(b, LinearRole.Q)).hasSize(heads * 8);
                assertThat(bias(b, LinearRole.K)).hasSize(groups * 8);
                assertThat(bias(b, LinearRole.V)).hasSize(groups * 8);
            }
            assertBiasesOnQkvOnly(pruned);
            assertKeptBiasesAreDenseEntries(dense.model(), pruned);

            Path dir = tmp.resolve(name);
            PrunedModelWriter.write(dir, pruned, dense.tokenizer(), Map.of());
            String exportTo = System.getProperty(EXPORT_PROPERTY);
            if (exportTo != null) PrunedModelWriter.write(Path.of(exportTo, name), pruned, dense.tokenizer(), Map.of());

            String json = Files.readString(dir.resolve("config.json"));
            assertThat(json).contains("\"model_type\" : \"qwen2\"", "\"Qwen2ForCausalLM\"", "\"head_dim\" : 8")
                    .doesNotContain(HfConfig.LAYER_SIZES_KEY);
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                assertThat(f.names()).contains("model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.k_proj.bias",
                        "model.layers.1.self_attn.v_proj.bias").doesNotContain("model.layers.0.self_attn.o_proj.bias",
                        "model.layers.0.mlp.down_proj.bias", "model.layers.0.mlp.gate_proj.bias");
            }
            int[][] seqs = FIXTURE.tokens("tokens.json");
            try (LoadedModel back = ModelLoader.load(dir.toString(), PrunelabHome.fromEnvironment())) {
                assertThat(back.config().architecture()).isEqualTo("qwen2");
                assertThat(back.config().numAttentionHeads()).isEqualTo(heads);
                assertThat(back.config().numKeyValueHeads()).isEqualTo(groups);
                assertThat(back.config().intermediateSize()).isEqualTo(channels);
                assertBiasesOnQkvOnly(back.model());
                for (int l = 0; l < pruned.blocks().size(); l++) {
                    for (LinearRole role : QKV) {
                        assertThat(bias(back.model().block(l), role)).as("layer %d %s bias", l, role)
                                .isEqualTo(bias(pruned.block(l), role));
                    }
                }
                for (int[] s : seqs) assertThat(back.model().logits(s)).isEqualTo(pruned.logits(s));
            }

            // transformers' logits of the same export (tiny_qwen2_pruned.py on the folder this test writes).
            float[] ref = FIXTURE.floats("pruned-" + name + "/logits.bin");
            int vocab = pruned.config().vocabSize();
            double worst = 0;
            for (int s = 0; s < seqs.length; s++) {
                float[] expected = Arrays.copyOfRange(ref, s * seqs[s].length * vocab, (s + 1) * seqs[s].length * vocab);
                worst = Math.max(worst, TinyFixture.maxAbsDiff(pruned.logits(seqs[s]), expected));
            }
            System.out.printf("tiny-qwen2 %s uniform: max |prunelab - transformers| logit difference %.3g%n", name, worst);
            assertThat(worst).as("pruned logits against transformers on the export").isLessThanOrEqualTo(TOLERANCE);
        }
    }

    /** FLAP, uniform allocation, at 50% (k/v keep their rows) and 75% (one key/value group goes). */
    @ParameterizedTest
    @CsvSource({"0.5, 32, 2, 2", "0.75, 16, 1, 1"})
    void flapCutsTheQkvBiasesWithTheirRowsButItsCompensationBiasesCannotBeSavedAsQwen2(double sparsity, int channels, int heads,
                                                                                     int groups, @TempDir Path tmp) throws Exception {
        try (LoadedModel dense = FIXTURE.load()) {
            DecoderModel pruned = TinyFixture.prune(dense.model(), "flap", sparsity).model();
            for (DecoderBlock b : pruned.blocks()) {
                assertThat(b.shape().intermediateSize()).isEqualTo(channels);
                assertThat(b.shape().numAttentionHeads()).isEqualTo(heads);
                assertThat(b.shape().numKeyValueHeads()).isEqualTo(groups);
                for (LinearRole role : QKV) {
                    DenseLinear d = (DenseLinear) b.linear(role);
                    assertThat(d.bias()).as("layer %d %s bias", b.index(), role).hasSize(d.outFeatures());
                }
                // FLAP folds the removed inputs' mean into o_proj and down_proj biases, which Qwen2ForCausalLM lacks.
                assertThat(bias(b, LinearRole.O)).hasSize(32);
                assertThat(bias(b, LinearRole.DOWN)).hasSize(32);
            }
            // The kept q/k/v bias entries are the dense model's entries of the kept rows.
            assertKeptBiasesAreDenseEntries(dense.model(), pruned);
            assertThatThrownBy(() -> PrunedModelWriter.write(tmp.resolve("flap"), pruned, dense.tokenizer(), Map.of()))
                    .isInstanceOf(PrunelabException.InvalidArgument.class)
                    .hasMessageContaining("Qwen2ForCausalLM").hasMessageContaining("o_proj").hasMessageContaining("down_proj");
            assertThat(tmp.resolve("flap")).doesNotExist();
        }
    }

    // --- helpers ---

    /** Q, K and V carry a bias as long as their output rows; O and the MLP none. */
    private static void assertBiasesOnQkvOnly(DecoderModel model) {
        for (DecoderBlock b : model.blocks()) {
            for (LinearRole role : LinearRole.values()) {
                DenseLinear d = (DenseLinear) b.linear(role);
                if (QKV.contains(role)) {
                    assertThat(d.bias()).as("layer %d %s bias", b.index(), role).isNotNull().hasSize(d.outFeatures());
                } else {
                    assertThat(d.bias()).as("layer %d %s bias", b.index(), role).isNull();
                }
            }
        }
    }

    /**
     * Every pruned q/k/v row, with its bias entry, is a row of the dense linear with the same bias entry: the rows and
     * biases were cut together (matched by the weight row, since the plan's kept indices are not exposed).
     */
    private static void assertKeptBiasesAreDenseEntries(DecoderModel dense, DecoderModel pruned) {
        for (int l = 0; l < dense.blocks().size(); l++) {
            for (LinearRole role : QKV) {
                DenseLinear d = (DenseLinear) dense.block(l).linear(role);
                DenseLinear p = (DenseLinear) pruned.block(l).linear(role);
                int cols = d.inFeatures();
                assertThat(p.inFeatures()).isEqualTo(cols);
                for (int r = 0; r < p.outFeatures(); r++) {
                    float[] row = Arrays.copyOfRange(p.weight().data(), r * cols, (r + 1) * cols);
                    int found = -1;
                    for (int k = 0; k < d.outFeatures() && found < 0; k++) {
                        if (Arrays.equals(row, Arrays.copyOfRange(d.weight().data(), k * cols, (k + 1) * cols))) found = k;
                    }
                    assertThat(found).as("layer %d %s row %d is a dense row", l, role, r).isGreaterThanOrEqualTo(0);
                    assertThat(p.bias()[r]).as("layer %d %s bias of row %d (dense row %d)", l, role, r, found)
                            .isEqualTo(d.bias()[found]);
                }
            }
        }
    }

    private static float[] bias(DecoderBlock b, LinearRole role) {
        return ((DenseLinear) b.linear(role)).bias();
    }

}
