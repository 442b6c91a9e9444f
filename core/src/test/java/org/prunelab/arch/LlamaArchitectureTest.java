package org.prunelab.arch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.io.GgufFile;
import org.prunelab.io.GgufTensorSource;
import org.prunelab.io.GgufTestWriter;
import org.prunelab.io.GgufTestWriter.Arr;
import org.prunelab.io.GgufValueType;
import org.prunelab.io.GgufVocab;
import org.prunelab.io.SafetensorsTensorSource;
import org.prunelab.io.SafetensorsWriter;
import org.prunelab.io.TensorLookup;
import org.prunelab.io.TensorSource;
import org.prunelab.model.DecoderConfig;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
/**
 * Llama-architecture GGUF files and safetensors checkpoints as the {@link LlamaArchitecture} presents them: config
 * from the metadata, Hugging Face names and layout (llama.cpp's q/k row permutation undone).
 */
class LlamaArchitectureTest {
    private static final Architecture LLAMA = new LlamaArchitecture();
    private static final String EMBED_TOKENS = "model.embed_tokens.weight", NORM = "model.norm.weight", LM_HEAD = "lm_head.weight";

    private static String layer(int l, String stem) {
        return "model.layers." + l + "." + stem + ".weight";
    }

    /** The file's config and its tensors in Hugging Face form. */
    private record Hf(DecoderConfig config, TensorLookup tensors) {}

    private static Hf hf(GgufTensorSource src) {
        DecoderConfig c = LLAMA.readGgufConfig(src.file());
        return new Hf(c, LLAMA.fromGguf(src, c));
    }
    private static final int HIDDEN = 8, HEADS = 2, KV_HEADS = 1, HEAD_DIM = 4, FFN = 12, VOCAB = 10;

    @TempDir
    Path dir;

    private static FloatMatrix random(int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return new FloatMatrix(rows, cols, d);
    }

    /** llama.cpp convert_hf_to_gguf's DecoderModel.permute: rows [h, 2, half] become [h, half, 2]. */
    private static float[] permuteLikeLlamaCpp(float[] hf, int rows, int cols, int nHead) {
        int perHead = rows / nHead, half = perHead / 2;
        float[] out = new float[hf.length];
        for (int h = 0; h < nHead; h++)
            for (int p = 0; p < 2; p++)
                for (int j = 0; j < half; j++)
                    System.arraycopy(hf, (h * perHead + p * half + j) * cols, out, (h * perHead + 2 * j + p) * cols, cols);
        return out;
    }

    /** A one-layer llama GGUF whose tensors are the HF weights below, converted as llama.cpp would. */
    private GgufTestWriter tinyLlama() {
        FloatMatrix q = random(HEADS * HEAD_DIM, HIDDEN, 1);
        FloatMatrix k = random(KV_HEADS * HEAD_DIM, HIDDEN, 2);
        return new GgufTestWriter()
                .kv("general.architecture", GgufValueType.STRING, "llama")
                .kv("llama.context_length", GgufValueType.UINT32, 256L)
                .kv("llama.embedding_length", GgufValueType.UINT32, (long) HIDDEN)
                .kv("llama.block_count", GgufValueType.UINT32, 1L)
                .kv("llama.feed_forward_length", GgufValueType.UINT32, (long) FFN)
                .kv("llama.attention.head_count", GgufValueType.UINT32, (long) HEADS)
                .kv("llama.attention.head_count_kv", GgufValueType.UINT32, (long) KV_HEADS)
                .kv("llama.attention.layer_norm_rms_epsilon", GgufValueType.FLOAT32, 1e-5f)
                .kv("llama.rope.freq_base", GgufValueType.FLOAT32, 50000f)
                .kv("llama.rope.dimension_count", GgufValueType.UINT32, (long) HEAD_DIM)
                .kv("tokenizer.ggml.tokens", GgufValueType.ARRAY,
                        new Arr(GgufValueType.STRING, List.of("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")))
                .kv("tokenizer.ggml.bos_token_id", GgufValueType.UINT32, 1L)
                .kv("tokenizer.ggml.eos_token_id", GgufValueType.UINT32, 2L)
                .f32("token_embd.weight", new long[] {HIDDEN, VOCAB}, random(VOCAB, HIDDEN, 3).data())
                .f32("blk.0.attn_norm.weight", new long[] {HIDDEN}, random(1, HIDDEN, 4).data())
                .f32("blk.0.attn_q.weight", new long[] {HIDDEN, HEADS * HEAD_DIM},
                        permuteLikeLlamaCpp(q.data(), q.rows(), q.cols(), HEADS))
                .f32("blk.0.attn_k.weight", new long[] {HIDDEN, KV_HEADS * HEAD_DIM},
                        permuteLikeLlamaCpp(k.data(), k.rows(), k.cols(), KV_HEADS))
                .f32("blk.0.attn_v.weight", new long[] {HIDDEN, KV_HEADS * HEAD_DIM}, random(KV_HEADS * HEAD_DIM, HIDDEN, 5).data())
                .f32("blk.0.ffn_down.weight", new long[] {FFN, HIDDEN}, random(HIDDEN, FFN, 6).data())
                .f32("output_norm.weight", new long[] {HIDDEN}, random(1, HIDDEN, 7).data());
    }

    @Test
    void ggufSourceGivesHuggingFaceNamesConfigAndLayout() throws IOException {
        Path f = tinyLlama().write(dir.resolve("tiny.gguf"));
        try (TensorSource file = TensorSource.open(f)) {
            assertThat(file).isInstanceOf(GgufTensorSource.class);
            Hf hf = hf((GgufTensorSource) file);
            DecoderConfig c = hf.config();
            TensorLookup src = hf.tensors();
            assertThat(c).isEqualTo(new DecoderConfig(HIDDEN, FFN, 1, HEADS, KV_HEADS, HEAD_DIM, VOCAB, 256, 1e-5f, 50000,
                    null, true, 1, 2));
            for (String n : List.of(EMBED_TOKENS, layer(0, "input_layernorm"), layer(0, "self_attn.q_proj"),
                    layer(0, "self_attn.k_proj"), layer(0, "self_attn.v_proj"), layer(0, "mlp.down_proj"), NORM)) {
                assertThat(src.has(n)).as(n).isTrue();
            }
            assertThat(src.has(LM_HEAD)).isFalse();
            assertThat(src.has(layer(0, "mlp.up_proj"))).isFalse();

            assertThat(src.matrix(layer(0, "self_attn.q_proj"))).isEqualTo(random(HEADS * HEAD_DIM, HIDDEN, 1));
            assertThat(src.matrix(layer(0, "self_attn.k_proj"))).isEqualTo(random(KV_HEADS * HEAD_DIM, HIDDEN, 2));
            assertThat(src.matrix(layer(0, "self_attn.v_proj"))).isEqualTo(random(KV_HEADS * HEAD_DIM, HIDDEN, 5));
            FloatMatrix down = src.matrix(layer(0, "mlp.down_proj"));
            assertThat(down.rows()).isEqualTo(HIDDEN);
            assertThat(down.cols()).isEqualTo(FFN);
            assertThat(src.vector(NORM)).containsExactly(random(1, HIDDEN, 7).data());
        }
    }

    @Test
    void ggufWithoutTokenizerDataIsAClearTokenizerError() throws IOException {
        Path f = tinyLlama().write(dir.resolve("tiny.gguf"));   // has tokens but no tokenizer.ggml.model/merges
        try (GgufFile gguf = GgufFile.open(f)) {
            assertThatThrownBy(() -> GgufVocab.fromMetadata(gguf.metadata(), f))
                    .isInstanceOf(PrunelabException.Tokenizer.class)
                    .hasMessageContaining("tiny.gguf").hasMessageContaining("no tokenizer data")
                    .hasMessageContaining("tokenizer.json");
        }
        assertThatThrownBy(() -> ModelLoader.load(f.toString(), new PrunelabHome(dir)))
                .isInstanceOf(PrunelabException.Tokenizer.class);
    }

    @Test
    void missingTensorIsNamedWithNearbyNames() throws IOException {
        try (GgufTensorSource file = GgufTensorSource.open(tinyLlama().write(dir.resolve("tiny.gguf")))) {
            TensorLookup src = hf(file).tensors();
            assertThatThrownBy(() -> src.matrix(layer(0, "mlp.up_proj")))
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("no tensor for 'model.layers.0.mlp.up_proj.weight'")
                    .hasMessageContaining("GGUF name blk.0.ffn_up.weight")
                    .hasMessageContaining("model.layers.0.mlp.down_proj.weight");
        }
    }

    @Test
    void untiedWhenOutputWeightIsPresentAndLinearRopeScaling() throws IOException {
        Path f = tinyLlama()
                .kv("llama.rope.scaling.type", GgufValueType.STRING, "linear")
                .kv("llama.rope.scaling.factor", GgufValueType.FLOAT32, 4f)
                .f32("output.weight", new long[] {HIDDEN, VOCAB}, random(VOCAB, HIDDEN, 8).data())
                .write(dir.resolve("t.gguf"));
        try (GgufTensorSource file = GgufTensorSource.open(f)) {
            Hf src = hf(file);
            assertThat(src.config().tieWordEmbeddings()).isFalse();
            assertThat(src.config().ropeScaling()).isEqualTo(new DecoderConfig.RopeScaling("linear", 4, 0, 0, 0));
            assertThat(src.tensors().matrix(LM_HEAD)).isEqualTo(random(VOCAB, HIDDEN, 8));
        }
    }

    @Test
    void rejectsOtherArchitecturesAndBakedLlama3Rope() throws IOException {
        Path gpt2 = new GgufTestWriter().kv("general.architecture", GgufValueType.STRING, "gpt2").write(dir.resolve("g.gguf"));
        PrunelabHome home = new PrunelabHome(dir);
        assertThatThrownBy(() -> ModelLoader.inspect(gpt2.toString(), home)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("architecture 'gpt2'").hasMessageContaining("supported general.architecture values: llama");
        Path l3 = tinyLlama().f32("rope_freqs.weight", new long[] {2}, new float[] {1, 1}).write(dir.resolve("l3.gguf"));
        assertThatThrownBy(() -> ModelLoader.inspect(l3.toString(), home)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("rope_freqs.weight").hasMessageContaining("safetensors");
        Path noKeys = new GgufTestWriter().kv("general.architecture", GgufValueType.STRING, "llama").write(dir.resolve("n.gguf"));
        assertThatThrownBy(() -> ModelLoader.inspect(noKeys.toString(), home)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("no metadata key 'llama.embedding_length'");
    }

    @Test
    void safetensorsDirectoryEqualsTheGgufItWasExportedFrom() throws IOException {
        Path ckpt = Files.createDirectory(dir.resolve("ckpt"));
        try (GgufTensorSource file = GgufTensorSource.open(tinyLlama().write(dir.resolve("tiny.gguf")))) {
            Hf gguf = hf(file);
            HfConfig.write(LLAMA.writeHfConfig(gguf.config(), HfConfig.Export.NONE), ckpt.resolve("config.json"));
            SafetensorsWriter w = new SafetensorsWriter();
            List<String> names = List.of(EMBED_TOKENS, layer(0, "input_layernorm"), layer(0, "self_attn.q_proj"),
                    layer(0, "self_attn.k_proj"), layer(0, "self_attn.v_proj"), layer(0, "mlp.down_proj"), NORM);
            for (String n : names) {
                if (n.equals(NORM) || n.endsWith("layernorm.weight")) w.add(n, gguf.tensors().vector(n));
                else w.add(n, gguf.tensors().matrix(n));
            }
            w.writeSharded(ckpt, 200);

            try (TensorSource st = TensorSource.open(ckpt)) {
                assertThat(st).isInstanceOf(SafetensorsTensorSource.class);
                assertThat(ckpt.resolve(SafetensorsWriter.INDEX_FILE)).exists();
                assertThat(Architectures.readHfConfig(HfConfig.read(ckpt.resolve("config.json")))).isEqualTo(gguf.config());
                assertThat(st.names()).containsExactlyInAnyOrderElementsOf(names);
                assertThat(st.matrix(layer(0, "self_attn.q_proj"))).isEqualTo(gguf.tensors().matrix(layer(0, "self_attn.q_proj")));
                assertThat(st.vector(NORM)).containsExactly(gguf.tensors().vector(NORM));
                assertThatThrownBy(() -> st.matrix(LM_HEAD)).isInstanceOf(PrunelabException.ModelFormat.class)
                        .hasMessageContaining("no tensor 'lm_head.weight'").hasMessageContaining("nearby names");
            }
        }
    }

    @Test
    void safetensorsDirectoryErrors() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        PrunelabHome home = new PrunelabHome(dir);
        assertThatThrownBy(() -> ModelLoader.inspect(empty.toString(), home)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("config.json does not exist");
        Files.writeString(empty.resolve("config.json"), HfConfigTest.SMOLLM2_LIKE);
        assertThatThrownBy(() -> TensorSource.open(empty)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("neither model.safetensors nor model.safetensors.index.json");
        Files.writeString(empty.resolve(SafetensorsWriter.INDEX_FILE),
                "{\"weight_map\": {\"model.norm.weight\": \"model-00001-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> TensorSource.open(empty)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("model-00001-of-00002.safetensors").hasMessageContaining("does not exist");
        assertThatThrownBy(() -> TensorSource.open(dir.resolve("nothing"))).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("does not exist");
    }

    @Test
    void reversePermuteUndoesLlamaCppPermute() {
        FloatMatrix w = random(12, 3, 9);
        for (int heads : new int[] {1, 2, 3, 6}) {
            float[] permuted = permuteLikeLlamaCpp(w.data(), 12, 3, heads);
            assertThat(GgufRope.reversePermuteRows(permuted, 12, 3, heads)).containsExactly(w.data());
        }
        assertThatThrownBy(() -> GgufRope.reversePermuteRows(new float[10], 10, 1, 3))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("head counts");
    }

    @Test
    void nameMapIsABijectionOverLlamaTensors() {
        DecoderConfig c = new DecoderConfig(HIDDEN, FFN, 12, HEADS, KV_HEADS, HEAD_DIM, VOCAB, 256, 1e-5, 50000, null, false, 1, 2);
        var map = ((StandardArchitecture) LLAMA).ggufNames(c);
        assertThat(new java.util.HashSet<>(map.values())).hasSameSizeAs(map.keySet());
        assertThat(map).containsEntry(layer(5, "self_attn.o_proj"), "blk.5.attn_output.weight")
                .containsEntry(layer(11, "post_attention_layernorm"), "blk.11.ffn_norm.weight")
                .containsEntry("model.layers.3.self_attn.q_proj.bias", "blk.3.attn_q.bias")
                .containsEntry(EMBED_TOKENS, "token_embd.weight").containsEntry(NORM, "output_norm.weight")
                .containsEntry(LM_HEAD, "output.weight");
        assertThat(map.values()).doesNotContain("rope_freqs.weight");
    }
}
