package org.prunelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.prunelab.TestModels;
import org.prunelab.arch.Architecture;
import org.prunelab.arch.LlamaArchitecture;
import org.prunelab.model.DecoderConfig;
import org.prunelab.tensor.FloatMatrix;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The real SmolLM2-135M-Instruct Q4_1 GGUF against fixtures from gguf-py and transformers
 * (tools/reference/gguf_fixtures.py): dequantised rows in GGUF order, the same rows as transformers' GGUF loader
 * returns them (q_proj/k_proj un-permuted, through the Llama architecture's view), and whole-tensor sums.
 */
class GgufRealModelTest {
    private static final JsonNode FIXTURE = GgufFixtures.load("smollm2.json");
    private static final Architecture LLAMA = new LlamaArchitecture();

    @Test
    void configComesFromLlamaMetadata() {
        try (GgufTensorSource file = GgufTensorSource.open(TestModels.smollm2Gguf())) {
            DecoderConfig c = LLAMA.readGgufConfig(file.file());
            TensorLookup src = LLAMA.fromGguf(file, c);
            GgufMetadata md = file.file().metadata();
            // cross-check against the raw keys and tensor shapes rather than restating numbers
            assertThat(c.hiddenSize()).isEqualTo(md.getInt("llama.embedding_length"));
            assertThat(c.numHiddenLayers()).isEqualTo(md.getInt("llama.block_count"));
            assertThat(c.numKeyValueHeads()).isEqualTo(md.getInt("llama.attention.head_count_kv"));
            assertThat(c.headDim() * c.numAttentionHeads()).isEqualTo(c.hiddenSize());
            assertThat(c.vocabSize()).isEqualTo(md.arrayLength("tokenizer.ggml.tokens"));
            assertThat(c.rmsNormEps()).isEqualTo(md.getFloat("llama.attention.layer_norm_rms_epsilon"));
            assertThat(c.ropeTheta()).isEqualTo(md.getFloat("llama.rope.freq_base"));
            assertThat(c.tieWordEmbeddings()).isTrue();
            assertThat(c.ropeScaling()).isNull();
            assertThat(src.has("lm_head.weight")).isFalse();
            assertThat(src.has("model.embed_tokens.weight") && src.has("model.norm.weight")
                    && src.has("model.layers." + (c.numHiddenLayers() - 1) + ".mlp.down_proj.weight")).isTrue();
            FloatMatrix k = src.matrix("model.layers.0.self_attn.k_proj.weight");
            assertThat(k.rows()).isEqualTo(c.kvDim());
            assertThat(k.cols()).isEqualTo(c.hiddenSize());
        }
    }

    @Test
    void tensorsMatchGgufPyAndTransformers() {
        try (GgufTensorSource file = GgufTensorSource.open(TestModels.smollm2Gguf())) {
            TensorLookup hfView = LLAMA.fromGguf(file, LLAMA.readGgufConfig(file.file()));
            for (JsonNode t : FIXTURE.get("tensors")) {
                String ggufName = t.get("gguf_name").asText();
                String hfName = t.get("hf_name").asText();
                int cols = t.get("cols").asInt();
                GgufTensorInfo info = file.file().tensor(ggufName);
                assertThat(info.type().name()).isEqualTo(t.get("type").asText());
                assertThat(info.shape()).containsExactly(t.get("gguf_shape").get(0).asLong(), t.get("gguf_shape").get(1).asLong());

                FloatMatrix raw = file.file().matrix(ggufName);
                FloatMatrix hf = hfView.matrix(hfName);
                assertThat(hf.rows()).isEqualTo(raw.rows());
                assertThat(hf.cols()).isEqualTo(cols);
                assertRowsClose(ggufName + " (GGUF order)", raw, GgufFixtures.floats(t.get("gguf_rows_f32le_b64")));
                assertRowsClose(hfName + " (transformers order)", hf, GgufFixtures.floats(t.get("hf_rows_f32le_b64")));

                double sum = 0, sumSq = 0;
                for (float v : hf.data()) {
                    sum += v;
                    sumSq += (double) v * v;
                }
                assertThat(sum).as("sum of %s", hfName).isCloseTo(t.get("sum").asDouble(), within(1e-9 * Math.max(1, sumSq)));
                assertThat(sumSq).as("sum of squares of %s", hfName).isCloseTo(t.get("sum_sq").asDouble(), within(1e-9 * sumSq));
            }
        }
    }

    private static void assertRowsClose(String what, FloatMatrix m, float[] expected) {
        float[] actual = Arrays.copyOf(m.data(), expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).as("%s element %d", what, i).isCloseTo(expected[i], within(1e-6f));
        }
    }
}
