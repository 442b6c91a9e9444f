package org.prunelab.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.io.GgufTestWriter.Arr;
import org.prunelab.model.LlamaConfig;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.prunelab.io.LlamaTensorNames.*;

/** GGUF and safetensors checkpoints seen through {@link TensorSource}, in Hugging Face names and layout. */
class TensorSourceTest {
    private static final int HIDDEN = 8, HEADS = 2, KV_HEADS = 1, HEAD_DIM = 4, FFN = 12, VOCAB = 10;

    @TempDir
    Path dir;

    private static FloatMatrix random(int rows, int cols, long seed) {
        Random r = new Random(seed);
        float[] d = new float[rows * cols];
        for (int i = 0; i < d.length; i++) d[i] = (float) r.nextGaussian();
        return new FloatMatrix(rows, cols, d);
    }

    /** llama.cpp convert_hf_to_gguf's LlamaModel.permute: rows [h, 2, half] become [h, half, 2]. */
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
        try (TensorSource src = TensorSource.open(f)) {
            assertThat(src).isInstanceOf(GgufTensorSource.class);
            LlamaConfig c = src.config();
            assertThat(c).isEqualTo(new LlamaConfig(HIDDEN, FFN, 1, HEADS, KV_HEADS, HEAD_DIM, VOCAB, 256, 1e-5f, 50000,
                    null, true, 1, 2));
            assertThat(src.names()).containsExactly(EMBED_TOKENS, layerWeight(0, INPUT_LAYERNORM), layerWeight(0, Q_PROJ),
                    layerWeight(0, K_PROJ), layerWeight(0, V_PROJ), layerWeight(0, DOWN_PROJ), NORM);
            assertThat(src.contains(LM_HEAD)).isFalse();

            assertThat(src.matrix(layerWeight(0, Q_PROJ))).isEqualTo(random(HEADS * HEAD_DIM, HIDDEN, 1));
            assertThat(src.matrix(layerWeight(0, K_PROJ))).isEqualTo(random(KV_HEADS * HEAD_DIM, HIDDEN, 2));
            assertThat(src.matrix(layerWeight(0, V_PROJ))).isEqualTo(random(KV_HEADS * HEAD_DIM, HIDDEN, 5));
            FloatMatrix down = src.matrix(layerWeight(0, DOWN_PROJ));
            assertThat(down.rows()).isEqualTo(HIDDEN);
            assertThat(down.cols()).isEqualTo(FFN);
            assertThat(src.vector(NORM)).containsExactly(random(1, HIDDEN, 7).data());
        }
    }

    @Test
    void missingTensorIsNamedWithNearbyNames() throws IOException {
        try (TensorSource src = GgufTensorSource.open(tinyLlama().write(dir.resolve("tiny.gguf")))) {
            assertThatThrownBy(() -> src.matrix(layerWeight(0, UP_PROJ)))
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
        try (TensorSource src = TensorSource.open(f)) {
            assertThat(src.config().tieWordEmbeddings()).isFalse();
            assertThat(src.config().ropeScaling()).isEqualTo(new LlamaConfig.RopeScaling("linear", 4, 0, 0, 0));
            assertThat(src.matrix(LM_HEAD)).isEqualTo(random(VOCAB, HIDDEN, 8));
        }
    }

    @Test
    void rejectsOtherArchitecturesAndBakedLlama3Rope() throws IOException {
        Path gpt2 = new GgufTestWriter().kv("general.architecture", GgufValueType.STRING, "gpt2").write(dir.resolve("g.gguf"));
        assertThatThrownBy(() -> GgufTensorSource.open(gpt2)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("architecture 'gpt2'").hasMessageContaining("Llama-family");
        Path l3 = tinyLlama().f32("rope_freqs.weight", new long[] {2}, new float[] {1, 1}).write(dir.resolve("l3.gguf"));
        assertThatThrownBy(() -> GgufTensorSource.open(l3)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("rope_freqs.weight").hasMessageContaining("safetensors");
        Path noKeys = new GgufTestWriter().kv("general.architecture", GgufValueType.STRING, "llama").write(dir.resolve("n.gguf"));
        assertThatThrownBy(() -> GgufTensorSource.open(noKeys)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("no metadata key 'llama.embedding_length'");
    }

    @Test
    void safetensorsDirectoryEqualsTheGgufItWasExportedFrom() throws IOException {
        Path ckpt = Files.createDirectory(dir.resolve("ckpt"));
        try (TensorSource gguf = TensorSource.open(tinyLlama().write(dir.resolve("tiny.gguf")))) {
            HfConfigJson.write(gguf.config(), ckpt.resolve("config.json"));
            SafetensorsWriter w = new SafetensorsWriter();
            for (String n : gguf.names()) {
                if (n.equals(NORM) || n.endsWith("layernorm.weight")) w.add(n, gguf.vector(n));
                else w.add(n, gguf.matrix(n));
            }
            w.writeSharded(ckpt, 200);

            try (TensorSource st = TensorSource.open(ckpt)) {
                assertThat(st).isInstanceOf(SafetensorsTensorSource.class);
                assertThat(ckpt.resolve(SafetensorsWriter.INDEX_FILE)).exists();
                assertThat(st.config()).isEqualTo(gguf.config());
                assertThat(st.names()).containsExactlyInAnyOrderElementsOf(gguf.names());
                assertThat(st.matrix(layerWeight(0, Q_PROJ))).isEqualTo(gguf.matrix(layerWeight(0, Q_PROJ)));
                assertThat(st.vector(NORM)).containsExactly(gguf.vector(NORM));
                assertThatThrownBy(() -> st.matrix(LM_HEAD)).isInstanceOf(PrunelabException.ModelFormat.class)
                        .hasMessageContaining("no tensor 'lm_head.weight'").hasMessageContaining("nearby names");
            }
        }
    }

    @Test
    void safetensorsDirectoryErrors() throws IOException {
        Path empty = Files.createDirectory(dir.resolve("empty"));
        assertThatThrownBy(() -> TensorSource.open(empty)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("config.json does not exist");
        Files.writeString(empty.resolve("config.json"), HfConfigJsonTest.SMOLLM2_LIKE);
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
            assertThat(GgufTensorSource.reversePermuteRows(permuted, 12, 3, heads)).containsExactly(w.data());
        }
        assertThatThrownBy(() -> GgufTensorSource.reversePermuteRows(new float[10], 10, 1, 3))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("head counts");
    }

    @Test
    void nameMapIsABijectionOverLlamaTensors() {
        for (String hf : List.of(EMBED_TOKENS, NORM, LM_HEAD, layerWeight(3, Q_PROJ), layerBias(3, Q_PROJ),
                layerWeight(0, O_PROJ), layerWeight(11, POST_ATTENTION_LAYERNORM), layerWeight(2, GATE_PROJ))) {
            String gguf = hfToGguf(hf).orElseThrow();
            assertThat(ggufToHf(gguf)).contains(hf);
        }
        assertThat(hfToGguf(layerWeight(5, O_PROJ))).contains("blk.5.attn_output.weight");
        assertThat(ggufToHf("rope_freqs.weight")).isEmpty();
        assertThat(ggufToHf("blk.0.unknown.weight")).isEmpty();
    }
}
