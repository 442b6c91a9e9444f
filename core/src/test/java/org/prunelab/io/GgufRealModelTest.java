package org.prunelab.io;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.prunelab.TestModels;
import org.prunelab.model.LlamaConfig;
import org.prunelab.tensor.FloatMatrix;

import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The real SmolLM2-135M-Instruct Q4_1 GGUF against fixtures from gguf-py and transformers
 * (tools/reference/gguf_fixtures.py): dequantised rows in GGUF order, the same rows as transformers' GGUF loader
 * returns them (q_proj/k_proj un-permuted), and whole-tensor sums.
 */
class GgufRealModelTest {
    private static final JsonNode FIXTURE = GgufFixtures.load("smollm2.json");

    @Test
    void configComesFromLlamaMetadata() {
        try (GgufTensorSource src = GgufTensorSource.open(TestModels.smollm2Gguf())) {
            LlamaConfig c = src.config();
            GgufMetadata md = src.file().metadata();
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
            assertThat(src.names()).doesNotContain(LlamaTensorNames.LM_HEAD)
                    .contains(LlamaTensorNames.EMBED_TOKENS, LlamaTensorNames.NORM,
                            LlamaTensorNames.layerWeight(c.numHiddenLayers() - 1, LlamaTensorNames.DOWN_PROJ))
                    .hasSize(src.file().tensors().size());
            FloatMatrix k = src.matrix(LlamaTensorNames.layerWeight(0, LlamaTensorNames.K_PROJ));
            assertThat(k.rows()).isEqualTo(c.kvDim());
            assertThat(k.cols()).isEqualTo(c.hiddenSize());
        }
    }

    @Test
    void tensorsMatchGgufPyAndTransformers() {
        try (GgufTensorSource src = GgufTensorSource.open(TestModels.smollm2Gguf())) {
            for (JsonNode t : FIXTURE.get("tensors")) {
                String ggufName = t.get("gguf_name").asText();
                String hfName = t.get("hf_name").asText();
                int cols = t.get("cols").asInt();
                GgufTensorInfo info = src.file().tensor(ggufName);
                assertThat(info.type().name()).isEqualTo(t.get("type").asText());
                assertThat(info.shape()).containsExactly(t.get("gguf_shape").get(0).asLong(), t.get("gguf_shape").get(1).asLong());

                FloatMatrix raw = src.file().matrix(ggufName);
                FloatMatrix hf = src.matrix(hfName);
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
