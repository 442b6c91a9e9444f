package org.prunelab.model;

import org.prunelab.arch.ModelLoader;
import org.prunelab.io.TensorLookup;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.prunelab.tensor.FloatMatrix;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Logits of tiny random models against transformers' LlamaForCausalLM, from fixtures made by
 * {@code tools/reference/tiny_llama_fixture.py} (see that script for the command and the variants).
 */
class TransformersFixtureTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"gqa-tied", "llama3-bias"})
    void logitsMatchTransformers(String variant) {
        Fixture f = Fixture.load(variant);
        DecoderModel model = ModelLoader.build(f.config, f.tensors);
        float[] logits = model.logits(f.tokens);
        assertThat(logits).hasSize(f.logits.length);
        LlamaModelTest.assertRowClose(logits, f.logits, 0, 1e-4, variant);

        // The cached path reaches the same numbers.
        KvCache cache = model.newCache(f.tokens.length);
        int vocab = f.config.vocabSize();
        float[] last = model.prefill(java.util.Arrays.copyOf(f.tokens, 10), cache);
        LlamaModelTest.assertRowClose(last, f.logits, 9 * vocab, 1e-4, variant + " prefill");
        for (int t = 10; t < f.tokens.length; t++) {
            LlamaModelTest.assertRowClose(model.decode(f.tokens[t], cache), f.logits, t * vocab, 1e-4, variant + " decode " + t);
        }
    }

    private record Fixture(DecoderConfig config, TensorLookup tensors, int[] tokens, float[] logits) {
        static Fixture load(String variant) {
            String dir = "/fixtures/tiny-llama/" + variant + "/";
            JsonNode cfg = json(dir + "config.json");
            float[] weights = floats(dir + "weights.bin");
            Map<String, FloatMatrix> matrices = new HashMap<>();
            Map<String, float[]> vectors = new HashMap<>();
            for (JsonNode t : json(dir + "tensors.json")) {
                JsonNode shape = t.get("shape");
                int offset = t.get("offset").asInt();
                int rows = shape.get(0).asInt();
                if (shape.size() == 1) {
                    vectors.put(t.get("name").asText(), java.util.Arrays.copyOfRange(weights, offset, offset + rows));
                } else {
                    int cols = shape.get(1).asInt();
                    matrices.put(t.get("name").asText(), new FloatMatrix(rows, cols,
                            java.util.Arrays.copyOfRange(weights, offset, offset + rows * cols)));
                }
            }
            TensorLookup lookup = new TensorLookup() {
                public FloatMatrix matrix(String n) { return matrices.get(n); }
                public float[] vector(String n) { return vectors.get(n); }
                public boolean has(String n) { return matrices.containsKey(n) || vectors.containsKey(n); }
            };
            int[] tokens = JSON.convertValue(json(dir + "tokens.json"), int[].class);
            return new Fixture(config(cfg), lookup, tokens, floats(dir + "logits.bin"));
        }

        private static DecoderConfig config(JsonNode c) {
            JsonNode rope = c.get("rope_parameters");
            DecoderConfig.RopeScaling scaling = null;
            if (!rope.get("rope_type").asText().equals("default")) {
                scaling = new DecoderConfig.RopeScaling(rope.get("rope_type").asText(), rope.get("factor").asDouble(),
                        rope.path("low_freq_factor").asDouble(), rope.path("high_freq_factor").asDouble(),
                        rope.path("original_max_position_embeddings").asInt());
            }
            return new DecoderConfig(c.get("hidden_size").asInt(), c.get("intermediate_size").asInt(),
                    c.get("num_hidden_layers").asInt(), c.get("num_attention_heads").asInt(),
                    c.get("num_key_value_heads").asInt(), c.get("head_dim").asInt(), c.get("vocab_size").asInt(),
                    c.get("max_position_embeddings").asInt(), c.get("rms_norm_eps").asDouble(),
                    rope.get("rope_theta").asDouble(), scaling, c.get("tie_word_embeddings").asBoolean(),
                    c.get("bos_token_id").asInt(), c.get("eos_token_id").asInt());
        }

        private static JsonNode json(String resource) {
            try (InputStream in = open(resource)) {
                return JSON.readTree(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static float[] floats(String resource) {
            try (InputStream in = open(resource)) {
                ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
                float[] f = new float[b.remaining() / 4];
                b.asFloatBuffer().get(f);
                return f;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private static InputStream open(String resource) {
            InputStream in = TransformersFixtureTest.class.getResourceAsStream(resource);
            assertThat(in).as("fixture %s (run tools/reference/tiny_llama_fixture.py)", resource).isNotNull();
            return in;
        }
    }
}
