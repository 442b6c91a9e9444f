package org.prunelab.arch;

import org.prunelab.model.*;


import org.prunelab.tensor.Linear;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.Progress;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Tokenizer;

import org.prunelab.io.SafetensorsFile;
import org.prunelab.prune.structured.ShortGpt;
import org.prunelab.prune.structured.Fasp;
import org.prunelab.prune.structured.Flap;
import org.prunelab.prune.structured.StructuredPruner;
import org.prunelab.tensor.FloatMatrix;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Structured results saved and loaded back: uniform ones as a plain Hugging Face config with smaller widths,
 * non-uniform ones with {@code prunelab_layer_sizes}, FLAP's biases, removed blocks, and low-rank factors.
 */
class StructuredExportTest {
    /** 6 heads in 3 key/value groups, so head removal has room: hidden 32, intermediate 48, 2 layers, head_dim 8. */
    private static final DecoderConfig CONFIG = new DecoderConfig(32, 48, 2, 6, 3, 8, 50, 64, 1e-5, 10000, null, true, 1, 2);

    private static List<int[]> windows() {
        SplittableRandom r = new SplittableRandom(11);
        List<int[]> w = new ArrayList<>();
        for (int i = 0; i < 3; i++) w.add(r.ints(16, 0, 50).toArray());
        return w;
    }

    private static LoadedModel roundTrip(Path tmp, DecoderModel model) throws Exception {
        Path dir = tmp.resolve("out");
        try (Tokenizer tok = Tokenizer.fromTokenizerJson(Files.writeString(tmp.resolve("tokenizer.json"),
                PrunedModelWriterTest.MINIMAL_TOKENIZER))) {
            PrunedModelWriter.write(dir, model, tok, Map.of());
        }
        return ModelLoader.load(dir.toString(), PrunelabHome.fromEnvironment());
    }

    @Test
    void uniformFaspSavesAPlainSmallerHuggingFaceConfig(@TempDir Path tmp) throws Exception {
        DecoderModel dense = TinyLlama.model(CONFIG, 1);
        DecoderModel pruned = new StructuredPruner(new Fasp(true), 0.5, StructuredPruner.Allocation.UNIFORM)
                .prune(dense, windows(), Progress.NONE).model();
        int[] tokens = TinyLlama.tokens(10, 2);
        try (LoadedModel back = roundTrip(tmp, pruned)) {
            String json = Files.readString(back.path().resolve("config.json"));
            assertThat(json).doesNotContain(HfConfig.LAYER_SIZES_KEY).contains("\"attention_bias\" : false");
            // 48 * 0.5 = 24 channels; 6 * 0.5 = 3 heads: 3 groups x 1 head (the tie with 1 x 3 keeps more groups).
            assertThat(back.config().intermediateSize()).isEqualTo(24);
            assertThat(back.config().numAttentionHeads()).isEqualTo(3);
            assertThat(back.config().numKeyValueHeads()).isEqualTo(3);
            assertThat(back.model().logits(tokens)).isEqualTo(pruned.logits(tokens));
        }
    }

    @Test
    void globalFlapSavesPerBlockSizesAndBiases(@TempDir Path tmp) throws Exception {
        DecoderModel dense = TinyLlama.model(CONFIG, 3);
        DecoderModel pruned = new StructuredPruner(new Flap(), 0.4, StructuredPruner.Allocation.GLOBAL)
                .prune(dense, windows(), Progress.NONE).model();
        int[] tokens = TinyLlama.tokens(10, 4);
        try (LoadedModel back = roundTrip(tmp, pruned)) {
            String json = Files.readString(back.path().resolve("config.json"));
            assertThat(json).contains("\"attention_bias\" : true", "\"mlp_bias\" : true");
            for (int l = 0; l < 2; l++) assertThat(back.model().block(l).shape()).isEqualTo(pruned.block(l).shape());
            if (!pruned.block(0).shape().equals(pruned.block(1).shape())) assertThat(json).contains(HfConfig.LAYER_SIZES_KEY);
            assertThat(((DenseLinear) back.model().block(0).linear("down_proj")).bias()).isNotNull();
            // q/k/v and gate/up got zero biases (transformers switches biases on per group): outputs are unchanged.
            assertThat(back.model().logits(tokens)).isEqualTo(pruned.logits(tokens));
        }
    }

    @Test
    void shortGptSavesFewerLayers(@TempDir Path tmp) throws Exception {
        DecoderModel pruned = new ShortGpt(1).prune(TinyLlama.model(CONFIG, 5), windows(), Progress.NONE).model();
        int[] tokens = TinyLlama.tokens(10, 6);
        try (LoadedModel back = roundTrip(tmp, pruned)) {
            assertThat(back.config().numHiddenLayers()).isEqualTo(1);
            assertThat(back.model().logits(tokens)).isEqualTo(pruned.logits(tokens));
        }
    }

    @Test
    void lowRankFactorsAreSavedUnderTheirOwnNamesAndLoadBack(@TempDir Path tmp) throws Exception {
        DecoderModel model = TinyLlama.model(CONFIG, 7);
        SplittableRandom r = new SplittableRandom(8);
        float[] a = new float[4 * 32];
        float[] b = new float[48 * 4];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian() * 0.2f;
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextGaussian() * 0.2f;
        Map<String, Linear> linears = new java.util.LinkedHashMap<>(model.block(0).linears());
        linears.put("up_proj", new LowRankLinear(new FloatMatrix(4, 32, a), new FloatMatrix(48, 4, b)));
        List<DecoderBlock> blocks = new ArrayList<>(model.blocks());
        blocks.set(0, model.block(0).withLinears(0, linears));
        DecoderModel lowRank = model.withBlocks(model.config(), blocks);
        int[] tokens = TinyLlama.tokens(10, 9);
        try (LoadedModel back = roundTrip(tmp, lowRank)) {
            try (SafetensorsFile f = SafetensorsFile.open(back.path().resolve("model.safetensors"))) {
                assertThat(f.names()).contains("model.layers.0.mlp.up_proj.lowrank_a", "model.layers.0.mlp.up_proj.lowrank_b")
                        .doesNotContain("model.layers.0.mlp.up_proj.weight");
            }
            assertThat(Files.readString(back.path().resolve("config.json"))).contains("prunelab_low_rank");
            assertThat(back.model().block(0).linear("up_proj")).isInstanceOf(LowRankLinear.class);
            assertThat(back.model().logits(tokens)).isEqualTo(lowRank.logits(tokens));
        }
    }
}
