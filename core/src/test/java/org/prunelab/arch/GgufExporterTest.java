package org.prunelab.arch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.bench.RandomWeights;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.GgmlType;
import org.prunelab.io.GgufFile;
import org.prunelab.io.GgufMetadata;
import org.prunelab.io.GgufTensorInfo;
import org.prunelab.io.GgufValueType;
import org.prunelab.io.GgufWriter;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.LinearRole;
import org.prunelab.model.LoadedModel;
import org.prunelab.model.LowRankLinear;
import org.prunelab.model.ModelShape;
import org.prunelab.model.NormRole;
import org.prunelab.prune.Method;
import org.prunelab.prune.Methods;
import org.prunelab.prune.PruneOptions;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.quant.QuantLinear;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;
import org.prunelab.tensor.sparse.CsrLinear;
import org.prunelab.tensor.sparse.NmLinear;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link GgufExporter} on tiny random models of every registered family: written, read back with {@link GgufFile} and
 * {@link ModelLoader}, and compared (F32 exact, F16 to fp16 rounding, Q8_0/Q4_0 block bytes identical to what ggml's
 * reference quantiser makes of the weights in llama.cpp's row order); and every refusal, each before a byte is written.
 */
class GgufExporterTest {
    private static final int VOCAB = 50;
    /** A float-exact epsilon, so a config survives FLOAT32 metadata unchanged. */
    private static final double EPS = 0x1p-20;

    @TempDir
    Path dir;

    /** The tiny config of {@code family} (EveryMethodEveryArchitectureTest's), with a float-exact epsilon and MLP width 64. */
    static DecoderConfig tiny(String family, int intermediate) {
        DecoderConfig c = EveryMethodEveryArchitectureTest.tiny(family);
        return new DecoderConfig(family, c.hiddenSize(), intermediate, c.numHiddenLayers(), c.numAttentionHeads(),
                c.numKeyValueHeads(), c.headDim(), c.vocabSize(), c.maxPositionEmbeddings(), EPS, c.ropeTheta(),
                c.ropeScaling(), c.tieWordEmbeddings(), c.bosTokenId(), c.eosTokenId(), c.variant());
    }

    static DecoderModel model(DecoderConfig c) {
        return ModelLoader.build(c, new RandomWeights(c, 7, 0.2));
    }

    /**
     * Metadata of a "source" GGUF file for a model of {@code c}: general.*, a byte-level BPE vocabulary of 50 tokens
     * that the Java tokenizer builds, special ids, a chat template, and one key of the family the exporter does not
     * describe (dropped with a warning).
     */
    GgufMetadata source(DecoderConfig c) {
        String arch = Architectures.of(c).ggufArchitecture();
        List<String> tokens = new ArrayList<>(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
        for (char ch = 'a'; ch <= 'z'; ch++) tokens.add(String.valueOf(ch));
        for (char ch = 'A'; tokens.size() < VOCAB - 1; ch++) tokens.add(String.valueOf(ch));
        tokens.add("ab");
        List<Long> types = new ArrayList<>();
        for (int i = 0; i < VOCAB; i++) types.add(i < 3 ? 3L : 1L);
        Path f = dir.resolve("source-" + c.architecture() + ".gguf");
        new GgufWriter()
                .putString("general.architecture", arch)
                .putString("general.name", "tiny " + c.architecture())
                .putArray("general.languages", GgufValueType.STRING, List.of("en"))
                .putUint32(arch + ".block_count", c.numHiddenLayers())
                .putUint32(arch + ".some_future_key", 3)
                .putUint32("general.file_type", 3)
                .putString("tokenizer.ggml.model", "gpt2")
                .putString("tokenizer.ggml.pre", "smollm")
                .putArray("tokenizer.ggml.tokens", GgufValueType.STRING, tokens)
                .putArray("tokenizer.ggml.token_type", GgufValueType.INT32, types)
                .putArray("tokenizer.ggml.merges", GgufValueType.STRING, List.of("a b"))
                .putUint32("tokenizer.ggml.bos_token_id", c.bosTokenId())
                .putUint32("tokenizer.ggml.eos_token_id", c.eosTokenId())
                .putUint32("tokenizer.ggml.padding_token_id", 0)
                .putBool("tokenizer.ggml.add_bos_token", false)
                .putString("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}")
                .putUint32("general.quantization_version", 2)
                .write(f);
        try (GgufFile g = GgufFile.open(f)) {
            return g.metadata();
        }
    }

    private static final List<String> FAMILIES = List.of("llama", "qwen2", "qwen3", "gemma3");

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2", "qwen3", "gemma3"})
    void f32RoundTripIsExact(String family) {
        DecoderConfig c = tiny(family, 64);
        DecoderModel model = model(c);
        GgufMetadata source = source(c);
        Path f = dir.resolve("out.gguf");
        List<Long> updates = new ArrayList<>();
        GgufExporter.Result r = GgufExporter.write(f, model, source, GgmlType.F32, (done, total, label) -> updates.add(done));

        assertThat(r.bytes()).isEqualTo(f.toFile().length());
        assertThat(r.tensorTypes()).containsOnlyKeys(GgmlType.F32);
        assertThat(r.warnings()).singleElement().asString().contains(family.equals("gemma3") ? "gemma3" : family)
                .contains(".some_future_key");
        assertThat(updates).hasSize(r.tensorTypes().get(GgmlType.F32)).last().isEqualTo((long) updates.size());
        try (GgufFile g = GgufFile.open(f)) {
            GgufMetadata md = g.metadata();
            // every source key but the family's unknown one carried over as it was, file_type now ALL_F32
            for (String k : source.keys()) {
                if (k.endsWith(".some_future_key")) assertThat(md.contains(k)).isFalse();
                else if (k.equals("general.file_type")) assertThat(md.entry(k)).isEqualTo(new GgufMetadata.Entry(GgufValueType.UINT32, 0L));
                else assertThat(md.entry(k)).as(k).isEqualTo(source.entry(k));
            }
            assertThat(Architectures.of(c).readGgufConfig(g)).isEqualTo(c);
        }
        try (LoadedModel back = ModelLoader.load(f.toString(), new PrunelabHome(dir))) {
            assertThat(back.model().config()).isEqualTo(c);
            assertSameWeights(back.model(), model);
            int[] tokens = new SplittableRandom(5).ints(12, 0, VOCAB).toArray();
            assertThat(back.model().logits(tokens)).isEqualTo(model.logits(tokens));
            assertThat(back.tokenizer().encode("abc")).containsExactly(49, 5);
        }
    }

    @Test
    void llamaQkRowsAreWrittenInLlamaCppOrder() {
        DecoderConfig c = tiny("llama", 64);
        DecoderModel model = model(c);
        Path f = dir.resolve("out.gguf");
        GgufExporter.write(f, model, source(c), GgmlType.F32, Progress.NONE);
        try (GgufFile g = GgufFile.open(f)) {
            FloatMatrix q = ((DenseLinear) model.block(0).linear(LinearRole.Q)).weight();
            FloatMatrix written = g.matrix("blk.0.attn_q.weight");
            // head 0 of 4 has head_dim 8: llama.cpp row 1 is HF row 4 (the first row of the second half), row 2 is HF row 1
            assertThat(row(written, 1)).isEqualTo(row(q, 4));
            assertThat(row(written, 2)).isEqualTo(row(q, 1));
            assertThat(row(written, 0)).isEqualTo(row(q, 0));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "gemma3"})
    void f16IsTheWeightsRoundedToHalfAndNormsStayF32(String family) {
        DecoderConfig c = tiny(family, 48);   // F16 has no block constraint: 48 is fine
        DecoderModel model = model(c);
        Path f = dir.resolve("out.gguf");
        GgufExporter.Result r = GgufExporter.write(f, model, source(c), GgmlType.F16, Progress.NONE);
        try (GgufFile g = GgufFile.open(f)) {
            assertThat(g.metadata().getInt("general.file_type")).isEqualTo(1);
            for (GgufTensorInfo t : g.tensors()) assertThat(t.type()).as(t.name()).isEqualTo(t.rank() == 2 ? GgmlType.F16 : GgmlType.F32);
            assertThat(r.tensorTypes().get(GgmlType.F32)).isEqualTo(c.numHiddenLayers() * Transformer_normCount(c) + 1);
        }
        try (LoadedModel back = ModelLoader.load(f.toString(), new PrunelabHome(dir))) {
            DecoderModel m = back.model();
            assertThat(m.embedTokens().data()).isEqualTo(half(model.embedTokens().data()));
            for (DecoderBlock b : model.blocks()) {
                for (LinearRole role : LinearRole.values()) {
                    assertThat(weight(m.block(b.index()).linear(role)).data()).as(b.index() + " " + role)
                            .isEqualTo(half(weight(b.linear(role)).data()));
                }
                for (NormRole role : b.norms().keySet()) {
                    assertThat(m.block(b.index()).norm(role).weight()).isEqualTo(b.norm(role).weight());
                }
            }
        }
    }

    private static int Transformer_normCount(DecoderConfig c) {
        return org.prunelab.model.Transformer.normRoles(c.variant()).size();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q8_0", "Q4_0"})
    void blockTypesHoldExactlyTheReferenceQuantisationOfTheWeights(String typeName) {
        GgmlType type = GgmlType.valueOf(typeName);
        QuantType q = QuantType.valueOf(typeName);
        for (String family : List.of("llama", "qwen3")) {   // llama: permuted q/k rows and a tied head; qwen3: untied head
            DecoderConfig c = tiny(family, 64);
            DecoderModel model = model(c);
            Path f = dir.resolve(family + ".gguf");
            GgufExporter.write(f, model, source(c), type, Progress.NONE);
            try (GgufFile g = GgufFile.open(f)) {
                assertThat(g.metadata().getInt("general.file_type")).isEqualTo(type == GgmlType.Q8_0 ? 7 : 2);
                assertThat(g.metadata().getInt("general.quantization_version")).isEqualTo(2);
                // llama-quantize: an untied embedding gets the target type; the output head, or a tied embedding, Q8_0 under Q4_0
                GgmlType head = type == GgmlType.Q4_0 ? GgmlType.Q8_0 : type;
                assertThat(g.tensor("token_embd.weight").type()).isEqualTo(c.tieWordEmbeddings() ? head : type);
                if (!c.tieWordEmbeddings()) {
                    assertThat(g.tensor("output.weight").type()).isEqualTo(head);
                    assertThat(bytes(g, "output.weight")).isEqualTo(
                            QuantMatrix.quantize(QuantType.valueOf(head.name()), weight(model.lmHead())).toByteArray());
                }
                for (GgufTensorInfo t : g.tensors()) if (t.rank() == 1) assertThat(t.type()).isEqualTo(GgmlType.F32);
                for (DecoderBlock b : model.blocks()) {
                    for (LinearRole role : LinearRole.values()) {
                        String name = "blk." + b.index() + "." + ggufLinear(role) + ".weight";
                        assertThat(g.tensor(name).type()).isEqualTo(type);
                        FloatMatrix inGgufOrder = g.matrix(name);   // dequantised, llama.cpp's row order
                        FloatMatrix expected = ggufOrder(c, b, role);
                        assertThat(bytes(g, name)).as(name).isEqualTo(QuantMatrix.quantize(q, expected).toByteArray());
                        assertThat(inGgufOrder.rows()).isEqualTo(expected.rows());
                    }
                }
            }
        }
    }

    @Test
    void aQuantisedLinearHasItsBlockBytesCopiedAsTheyAre() {
        DecoderConfig c = tiny("llama", 64);
        DecoderModel model = model(c);
        DecoderBlock b = model.block(1);
        // blocks no quantiser would make from any weights: the copy must be verbatim (rows moved for RoPE only)
        byte[] odd = new byte[(int) QuantType.Q8_0.matrixBytes(c.qDim(), c.hiddenSize())];
        new SplittableRandom(3).nextBytes(odd);
        for (int i = 0; i < odd.length; i += 34) { odd[i] = 0x00; odd[i + 1] = 0x2C; }   // finite fp16 scales
        QuantLinear ql = QuantLinear.ofBlocks(QuantType.Q8_0, c.qDim(), c.hiddenSize(), odd.clone(), null);
        b.setLinear("q_proj", ql);
        QuantLinear down = QuantLinear.quantize(QuantType.Q4_0, weight(b.linear(LinearRole.DOWN)), null);
        b.setLinear("down_proj", down);
        Path f = dir.resolve("q.gguf");
        GgufExporter.Result r = GgufExporter.write(f, model, source(c), GgmlType.Q8_0, Progress.NONE);
        assertThat(r.warnings()).anySatisfy(w -> assertThat(w).contains("1 linears").contains("dequantised and quantised again"));
        try (GgufFile g = GgufFile.open(f)) {
            int[] from = GgufRope.hfRowOfGgufRow(c.qDim(), c.numAttentionHeads());
            int rowBytes = (int) QuantType.Q8_0.rowBytes(c.hiddenSize());
            byte[] expected = new byte[odd.length];
            for (int r0 = 0; r0 < from.length; r0++) System.arraycopy(odd, from[r0] * rowBytes, expected, r0 * rowBytes, rowBytes);
            assertThat(bytes(g, "blk.1.attn_q.weight")).isEqualTo(expected);
            assertThat(bytes(g, "blk.1.ffn_down.weight")).isEqualTo(
                    QuantMatrix.quantize(QuantType.Q8_0, down.weight().dequantize()).toByteArray());
        }
        try (LoadedModel back = ModelLoader.load(f.toString(), new PrunelabHome(dir))) {
            assertThat(weight(back.model().block(1).linear(LinearRole.Q)).data()).isEqualTo(ql.weight().dequantize().data());
        }
    }

    @Test
    void sparseFormatsAreWrittenDenseAndLowRankAsItsProduct() {
        DecoderConfig c = tiny("llama", 64);
        DecoderModel model = model(c);
        DecoderBlock b = model.block(0);
        FloatMatrix q = weight(b.linear(LinearRole.Q)).copy();
        for (int i = 0; i < q.data().length; i++) if (i % 2 == 0) q.data()[i] = 0;   // 2:4-compatible, half zero
        b.setLinear("q_proj", NmLinear.of(q, 2, 4));
        FloatMatrix up = weight(b.linear(LinearRole.UP)).copy();
        for (int i = 0; i < up.data().length; i++) if (i % 3 != 0) up.data()[i] = 0;
        b.setLinear("up_proj", CsrLinear.of(up));
        FloatMatrix fa = randomMatrix(4, c.hiddenSize(), 1), fb = randomMatrix(c.kvDim(), 4, 2);
        b.setLinear("v_proj", new LowRankLinear(fa, fb));
        Path f = dir.resolve("s.gguf");
        GgufExporter.Result r = GgufExporter.write(f, model, source(c), GgmlType.F32, Progress.NONE);
        assertThat(r.warnings()).anySatisfy(w -> assertThat(w).contains("1 low-rank linears").contains("dense product"));
        try (LoadedModel back = ModelLoader.load(f.toString(), new PrunelabHome(dir))) {
            DecoderBlock bb = back.model().block(0);
            assertThat(weight(bb.linear(LinearRole.Q)).data()).isEqualTo(q.data());
            assertThat(weight(bb.linear(LinearRole.UP)).data()).isEqualTo(up.data());
            float[] v = weight(bb.linear(LinearRole.V)).data();
            for (int o = 0; o < c.kvDim(); o++) {
                for (int i = 0; i < c.hiddenSize(); i++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++) s += (double) fb.get(o, k) * fa.get(k, i);
                    assertThat(v[o * c.hiddenSize() + i]).isEqualTo((float) s);
                }
            }
            int[] tokens = {1, 5, 9, 3, 7};
            float[] want = model.logits(tokens), got = back.model().logits(tokens);
            for (int i = 0; i < want.length; i++) assertThat(got[i]).isCloseTo(want[i], org.assertj.core.data.Offset.offset(1e-4f));
        }
    }

    @Test
    void flapBiasesGoIntoALlamaFileAndAreRefusedForTheOthers() {
        for (String family : FAMILIES) {
            DecoderConfig c = tiny(family, 64);
            DecoderModel model = model(c);
            DecoderBlock b = model.block(2);
            for (LinearRole role : List.of(LinearRole.O, LinearRole.DOWN)) {
                FloatMatrix w = weight(b.linear(role));
                float[] bias = new float[w.rows()];
                for (int i = 0; i < bias.length; i++) bias[i] = 0.01f * i;
                b.setLinear(b.layout().name(role), new DenseLinear(w, bias));
            }
            Path f = dir.resolve(family + "-flap.gguf");
            if (!family.equals("llama")) {
                assertThatThrownBy(() -> GgufExporter.write(f, model, source(c), GgmlType.F32, Progress.NONE))
                        .isInstanceOf(PrunelabException.InvalidArgument.class)
                        .hasMessageContaining("cannot export the " + family + " model as GGUF")
                        .hasMessageContaining("no tensor for a bias on o_proj, down_proj");
                assertThat(f).doesNotExist();
                continue;
            }
            GgufExporter.write(f, model, source(c), GgmlType.F32, Progress.NONE);
            try (GgufFile g = GgufFile.open(f)) {
                assertThat(g.findTensor("blk.2.attn_output.bias")).isPresent();
                assertThat(g.findTensor("blk.2.ffn_down.bias")).isPresent();
                assertThat(g.findTensor("blk.1.ffn_down.bias")).isEmpty();
            }
            try (LoadedModel back = ModelLoader.load(f.toString(), new PrunelabHome(dir))) {
                int[] tokens = {1, 5, 9, 3, 7};
                assertThat(back.model().logits(tokens)).isEqualTo(model.logits(tokens));
            }
        }
    }

    @Test
    void aUniformStructuredPruneAndShortGptLoadBack() {
        for (String family : List.of("llama", "gemma3")) {
            DecoderConfig c = tiny(family, 64);
            DecoderModel dense = model(c);
            for (var run : List.of(Map.<String, Object>of("sparsity", 0.5, "allocation", "uniform"), Map.<String, Object>of("layers", 1))) {
                Method m = Methods.byName(run.containsKey("layers") ? "shortgpt" : "fasp");
                DecoderModel pruned = m.create(m.args(run)).prune(dense, EveryTiny.windows(), PruneOptions.keepInput(Progress.NONE)).model();
                Path f = dir.resolve(family + "-" + m.name() + ".gguf");
                GgufExporter.write(f, pruned, source(c), GgmlType.F32, Progress.NONE);
                try (LoadedModel back = ModelLoader.load(f.toString(), new PrunelabHome(dir))) {
                    int[] tokens = {1, 5, 9, 3, 7, 11, 2};
                    assertThat(back.model().logits(tokens)).as(family + " " + m.name()).isEqualTo(pruned.logits(tokens));
                    assertThat(back.model().config().numHiddenLayers()).isEqualTo(pruned.blocks().size());
                }
                try (GgufFile g = GgufFile.open(f)) {
                    String p = Architectures.named(family).ggufArchitecture() + ".";
                    if (m.name().equals("fasp")) {
                        // heads pruned: head_dim is no longer hidden / heads, so key_length must say it
                        assertThat(g.metadata().getInt(p + "attention.key_length")).isEqualTo(c.headDim());
                        assertThat(g.metadata().getInt(p + "feed_forward_length")).isEqualTo(pruned.block(0).shape().intermediateSize());
                    } else if (family.equals("gemma3")) {
                        // the remaining blocks keep their own attention types (a per-layer pattern where not llama.cpp's default)
                        List<String> types = pruned.blocks().stream().map(x -> x.slidingWindow() > 0
                                ? DecoderConfig.Variant.SLIDING_ATTENTION : DecoderConfig.Variant.FULL_ATTENTION).toList();
                        assertThat(Architectures.named(family).readGgufConfig(g).variant().layerTypes()).isEqualTo(types);
                        assertThat(g.metadata().contains(p + "attention.sliding_window_pattern"))
                                .isEqualTo(!types.equals(Gemma3Architecture.defaultLayerTypes(types.size(), 6)));
                    }
                }
            }
        }
    }

    // ---- refusals ----

    @Test
    void refusalsNameWhatAndWhatToDo() {
        DecoderConfig c = tiny("llama", 48);
        DecoderModel model = model(c);
        GgufMetadata src = source(c);
        Path f = dir.resolve("x.gguf");

        assertThatThrownBy(() -> GgufExporter.write(f, model, src, GgmlType.Q8_0, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("layer 0 down_proj has rows of 48 values").hasMessageContaining("f16 or f32");
        assertThatThrownBy(() -> GgufExporter.write(f, model, src, GgmlType.Q4_1, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("f32, f16, q8_0, q4_0");
        assertThatThrownBy(() -> GgufExporter.type("q5_k")).isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("gguf_type");
        assertThat(GgufExporter.type("Q8_0")).isEqualTo(GgmlType.Q8_0);
        assertThatThrownBy(() -> GgufExporter.write(f, model, source(tiny("qwen2", 48)), GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("architecture 'qwen2'");
        assertThatThrownBy(() -> GgufExporter.write(f, model, null, GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("sourceMetadata");
        DecoderConfig wide = new DecoderConfig("llama", 32, 48, 4, 4, 2, 8, 60, 64, EPS, 10000, null, true, 1, 2, DecoderConfig.Variant.LLAMA);
        assertThatThrownBy(() -> GgufExporter.write(f, model(wide), src, GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("50 tokens").hasMessageContaining("60 rows");
        GgufExporter.check(ModelShape.of(model), src, GgmlType.F16, Set.of(), false);
        assertThatThrownBy(() -> GgufExporter.check(ModelShape.of(model), src, GgmlType.F16, Set.of(), true))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("allocation uniform");
        assertThat(f).doesNotExist();
    }

    @Test
    void aSafetensorsFolderIsRefusedAsSource() throws Exception {
        Path folder = Files.createDirectories(dir.resolve("hf"));
        assertThatThrownBy(() -> GgufExporter.sourceMetadata(folder))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("safetensors folder").hasMessageContaining("convert_hf_to_gguf.py");
    }

    @Test
    void aSourceWithoutTokenizerIsRefused() throws Exception {
        DecoderConfig c = tiny("llama", 64);
        Path f = dir.resolve("notok.gguf");
        new GgufWriter().putString("general.architecture", "llama").write(f);
        GgufMetadata md;
        try (GgufFile g = GgufFile.open(f)) {
            md = g.metadata();
        }
        assertThatThrownBy(() -> GgufExporter.write(dir.resolve("y.gguf"), model(c), md, GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("no tokenizer");
    }

    @Test
    void blocksOfDifferentWidthsAreRefused() {
        DecoderConfig c = tiny("llama", 64);
        DecoderModel model = model(c);
        Method fasp = Methods.byName("fasp");
        DecoderModel pruned = fasp.create(fasp.args(Map.of("sparsity", 0.3, "allocation", "global")))
                .prune(model, EveryTiny.windows(), PruneOptions.keepInput(Progress.NONE)).model();
        assertThat(new java.util.HashSet<>(ModelShape.of(pruned).blocks())).hasSizeGreaterThan(1);
        Path f = dir.resolve("g.gguf");
        assertThatThrownBy(() -> GgufExporter.write(f, pruned, source(c), GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class)
                .hasMessageContaining("different widths").hasMessageContaining("block 0's widths")
                .hasMessageContaining("allocation uniform");
        assertThat(f).doesNotExist();
    }

    @Test
    void familyVariantsGgufCannotStateAreRefused() {
        // Qwen2 after head pruning: llama.cpp's qwen2 loader wants attn_q to be hidden x hidden
        DecoderConfig q2 = tiny("qwen2", 64);
        DecoderConfig q2Pruned = q2.withShape(64, 4, 2, 1, null);
        assertThat(Architectures.named("qwen2").cannotWriteGguf(ModelShape.uniform(q2Pruned, StandardArchitecture.LAYOUT), Set.of()))
                .get().asString().contains("attn_q and attn_output as hidden x hidden");
        // Qwen's sliding window: llama.cpp's qwen2 / qwen3 graphs have none
        DecoderConfig q3 = tiny("qwen3", 64);
        DecoderConfig q3Sliding = new DecoderConfig("qwen3", 32, 64, 4, 4, 2, 8, VOCAB, 64, EPS, 1e6, null, false, 1, 2,
                new DecoderConfig.Variant(DecoderConfig.Activation.SILU, true, false, 1.0, 0, 16,
                        List.of("full_attention", "full_attention", "sliding_attention", "sliding_attention"), 1e6, 0));
        assertThat(q3.variant().layerTypes()).isNull();
        assertThatThrownBy(() -> GgufExporter.check(ModelShape.uniform(q3Sliding, StandardArchitecture.LAYOUT), source(q3Sliding),
                GgmlType.F32, Set.of(), false))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("sliding-window attention");
        // Gemma 3 with another score scale
        DecoderConfig g = tiny("gemma3", 64);
        DecoderConfig.Variant v = g.variant();
        DecoderConfig scaled = new DecoderConfig("gemma3", 32, 64, 4, 4, 1, 16, VOCAB, 64, EPS, 1e6, null, true, 2, 1,
                new DecoderConfig.Variant(v.activation(), true, true, v.embeddingScale(), 24, v.slidingWindow(), v.layerTypes(),
                        v.ropeLocalTheta(), 0));
        assertThatThrownBy(() -> GgufExporter.write(dir.resolve("s.gguf"), model(scaled), source(scaled), GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("query_pre_attn_scalar is 24.0");
        // Llama 3 RoPE scaling (llama.cpp stores it as rope_freqs.weight, which prunelab does not write)
        DecoderConfig l3 = new DecoderConfig("llama", 32, 64, 4, 4, 2, 8, VOCAB, 64, EPS, 500000, new DecoderConfig.RopeScaling(
                "llama3", 8, 1, 4, 8192), true, 1, 2, DecoderConfig.Variant.LLAMA);
        assertThatThrownBy(() -> GgufExporter.write(dir.resolve("l3.gguf"), model(l3), source(l3), GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("'llama3'").hasMessageContaining("rope_freqs");
    }

    @Test
    void anExistingFileIsNeverOverwritten() throws Exception {
        DecoderConfig c = tiny("llama", 64);
        Path f = Files.writeString(dir.resolve("taken.gguf"), "mine");
        assertThatThrownBy(() -> GgufExporter.write(f, model(c), source(c), GgmlType.F32, Progress.NONE))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("already exists");
        assertThat(f).hasContent("mine");
    }

    @Test
    void linearScalingIsWrittenAndReadBack() {
        DecoderConfig c = new DecoderConfig("llama", 32, 64, 2, 4, 2, 8, VOCAB, 64, EPS, 10000,
                new DecoderConfig.RopeScaling("linear", 4, 0, 0, 0), true, 1, 2, DecoderConfig.Variant.LLAMA);
        Path f = dir.resolve("lin.gguf");
        GgufExporter.write(f, model(c), source(c), GgmlType.F32, Progress.NONE);
        try (GgufFile g = GgufFile.open(f)) {
            assertThat(g.metadata().getString("llama.rope.scaling.type")).isEqualTo("linear");
            assertThat(Architectures.named("llama").readGgufConfig(g)).isEqualTo(c);
        }
    }

    // ---- helpers ----

    /** The calibration windows every tiny test uses. */
    static final class EveryTiny {
        static List<int[]> windows() {
            SplittableRandom rnd = new SplittableRandom(3);
            List<int[]> w = new ArrayList<>();
            for (int i = 0; i < 6; i++) w.add(rnd.ints(16, 0, VOCAB).toArray());
            return w;
        }
    }

    private static FloatMatrix randomMatrix(int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextDouble(-0.5, 0.5);
        return new FloatMatrix(rows, cols, d);
    }

    /** A block linear's weight in llama.cpp's row order (q/k permuted for Llama), as the exporter encodes it. */
    private static FloatMatrix ggufOrder(DecoderConfig c, DecoderBlock b, LinearRole role) {
        FloatMatrix w = weight(b.linear(role));
        if (!c.architecture().equals("llama") || (role != LinearRole.Q && role != LinearRole.K)) return w;
        int heads = role == LinearRole.Q ? b.shape().numAttentionHeads() : b.shape().numKeyValueHeads();
        return new FloatMatrix(w.rows(), w.cols(), GgufRope.permuteRows(w.data(), w.rows(), w.cols(), heads));
    }

    private static String ggufLinear(LinearRole role) {
        return switch (role) {
            case Q -> "attn_q"; case K -> "attn_k"; case V -> "attn_v"; case O -> "attn_output";
            case GATE -> "ffn_gate"; case UP -> "ffn_up"; case DOWN -> "ffn_down";
        };
    }

    private static byte[] bytes(GgufFile g, String name) {
        return g.data(g.tensor(name)).toArray(ValueLayout.JAVA_BYTE);
    }

    static FloatMatrix weight(Linear l) {
        return GgufTensorEncoder.dense(l);
    }

    private static float[] row(FloatMatrix m, int r) {
        return java.util.Arrays.copyOfRange(m.data(), r * m.cols(), (r + 1) * m.cols());
    }

    private static float[] half(float[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float.float16ToFloat(Float.floatToFloat16(v[i]));
        return out;
    }

    private static void assertSameWeights(DecoderModel back, DecoderModel model) {
        assertThat(back.embedTokens().data()).isEqualTo(model.embedTokens().data());
        assertThat(back.norm().weight()).isEqualTo(model.norm().weight());
        for (DecoderBlock b : model.blocks()) {
            DecoderBlock bb = back.block(b.index());
            for (LinearRole role : LinearRole.values()) {
                assertThat(weight(bb.linear(role)).data()).as(b.index() + " " + role).isEqualTo(weight(b.linear(role)).data());
            }
            for (Map.Entry<NormRole, org.prunelab.model.RmsNorm> n : b.norms().entrySet()) {
                assertThat(bb.norm(n.getKey()).weight()).as(b.index() + " " + n.getKey()).isEqualTo(n.getValue().weight());
            }
        }
        if (!model.config().tieWordEmbeddings()) {
            assertThat(weight(back.lmHead()).data()).isEqualTo(weight(model.lmHead()).data());
        }
    }
}
