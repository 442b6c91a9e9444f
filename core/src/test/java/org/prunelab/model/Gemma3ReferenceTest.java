package org.prunelab.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.prunelab.Progress;
import org.prunelab.TestModels;
import org.prunelab.arch.ModelLoader;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.eval.Perplexity;
import org.prunelab.eval.PerplexityResult;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The real Gemma 3 270M (Q4_K_M GGUF) against transformers + torch (CPU, fp32, eager attention) on the same file:
 * fixtures made by {@code tools/reference/gemma3_fixtures.py}. Token ids come from the fixture (transformers' GGUF
 * tokenizer, BOS first), so this checks the forward pass alone, not the Java tokenizer. Checks the config prunelab
 * reads from the GGUF against the one transformers built from the same metadata; logits of three prompts within 1e-3
 * absolute (the whole final-position row, and a fixed subset of 256 vocabulary ids at every position), and of a
 * 768-token UDHR prompt (the subset at positions 256..767, across the sliding window's edge); perplexity on
 * UDHR English and Swahili windows at seqlen 256 and 768 within 0.1% relative (768 is past the 512-token window of
 * the sliding-attention layers, so a wrong window shows there).
 */
class Gemma3ReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static LoadedModel loaded;
    private static DecoderModel model;

    @BeforeAll
    static void load() {
        TestModels.gemma3Gguf();   // skips the class when setup has not fetched the model
        loaded = ModelLoader.load(TestModels.gemma3Gguf().toString(), new PrunelabHome(TestModels.home()));
        model = loaded.model();
    }

    @AfterAll
    static void release() {
        if (loaded != null) loaded.close();
        model = null;
    }

    /**
     * The evaluation protocol's token stream (REFERENCE.md): Gemma's tokenizer adds its BOS by default, so a stream
     * starts with exactly one BOS (id 2) and is otherwise the raw encoding; the fixtures' windows start the same way.
     */
    @Test
    void theEvaluationStreamStartsWithOneBos() throws IOException {
        String text = "All human beings are born free and equal in dignity and rights.";
        int[] raw = loaded.tokenizer().encode(text);
        int[] stream = loaded.tokenizer().encodeWithDefaults(text);
        assertThat(loaded.tokenizer().addBosToken()).isTrue();
        assertThat(stream).hasSize(raw.length + 1).startsWith(2);
        assertThat(java.util.Arrays.copyOfRange(stream, 1, stream.length)).isEqualTo(raw);
        assertThat(raw).doesNotContain(2);
    }

    @Test
    void configMatchesWhatTransformersBuiltFromTheSameGguf() throws IOException {
        DecoderConfig c = model.config();
        JsonNode hf = fixture("logits.json").get("transformers_config");
        assertThat(c.architecture()).isEqualTo("gemma3");
        assertThat(c.numHiddenLayers()).isEqualTo(18).isEqualTo(hf.get("num_hidden_layers").asInt());
        assertThat(c.hiddenSize()).isEqualTo(640).isEqualTo(hf.get("hidden_size").asInt());
        assertThat(c.intermediateSize()).isEqualTo(2048).isEqualTo(hf.get("intermediate_size").asInt());
        assertThat(c.numAttentionHeads()).isEqualTo(4).isEqualTo(hf.get("num_attention_heads").asInt());
        assertThat(c.numKeyValueHeads()).isEqualTo(1).isEqualTo(hf.get("num_key_value_heads").asInt());
        assertThat(c.headDim()).isEqualTo(256).isEqualTo(hf.get("head_dim").asInt());
        assertThat(c.vocabSize()).isEqualTo(262_144).isEqualTo(hf.get("vocab_size").asInt());
        assertThat(c.rmsNormEps()).isCloseTo(hf.get("rms_norm_eps").asDouble(), within(1e-12));
        assertThat(c.maxPositionEmbeddings()).isEqualTo(hf.get("max_position_embeddings").asInt());
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.bosTokenId()).isEqualTo(2).isEqualTo(hf.get("bos_token_id").asInt());
        assertThat(c.ropeTheta()).isEqualTo(hf.at("/rope_parameters/full_attention/rope_theta").asDouble()).isEqualTo(1e6);
        assertThat(c.ropeScaling()).isNull();

        DecoderConfig.Variant v = c.variant();
        assertThat(v.activation()).isEqualTo(DecoderConfig.Activation.GELU_TANH);
        assertThat(v.activation().hfName()).isEqualTo(hf.get("hidden_activation").asText());
        assertThat(v.qkNorm()).isTrue();
        assertThat(v.sandwichNorms()).isTrue();
        // transformers holds sqrt(640) as a float32 buffer; the fixture stores that float's exact value.
        assertThat((float) v.embeddingScale()).isEqualTo((float) hf.get("embed_scale").asDouble());
        assertThat(v.queryPreAttnScalar()).isEqualTo(256).isEqualTo(hf.get("query_pre_attn_scalar").asDouble());
        assertThat(1 / Math.sqrt(v.queryPreAttnScalar())).isEqualTo(hf.get("attention_scaling").asDouble());
        assertThat(v.slidingWindow()).isEqualTo(512).isEqualTo(hf.get("sliding_window").asInt());
        assertThat(v.ropeLocalTheta()).isEqualTo(hf.at("/rope_parameters/sliding_attention/rope_theta").asDouble()).isEqualTo(1e4);
        assertThat(v.finalLogitSoftcap()).isZero();
        assertThat(hf.get("final_logit_softcapping").isNull()).isTrue();
        List<String> hfTypes = JSON.convertValue(hf.get("layer_types"), JSON.getTypeFactory().constructCollectionType(List.class, String.class));
        assertThat(v.layerTypes()).isEqualTo(hfTypes);
        for (int i = 0; i < 18; i++) {
            boolean global = (i + 1) % 6 == 0;   // layers 5, 11, 17
            assertThat(c.isSliding(i)).as("layer %d sliding", i).isEqualTo(!global);
            assertThat(model.blocks().get(i).slidingWindow()).as("layer %d window", i).isEqualTo(global ? 0 : 512);
        }
    }

    @Test
    void logitsMatchTransformers() throws IOException {
        JsonNode index = fixture("logits.json");
        int[] subset = JSON.convertValue(index.get("subset_vocab_ids"), int[].class);
        assertThat(index.get("prompts")).hasSize(3);
        int vocab = model.config().vocabSize();
        for (JsonNode prompt : index.get("prompts")) {
            String name = prompt.get("name").asText();
            int[] ids = JSON.convertValue(prompt.get("token_ids"), int[].class);
            assertThat(ids[0]).as("BOS first").isEqualTo(2);
            float[] last = floats(prompt.get("last_file").asText());
            float[] sub = floats(prompt.get("subset_file").asText());
            assertThat(last).hasSize(vocab);
            assertThat(sub).hasSize(ids.length * subset.length);
            float[] all = model.logits(ids);

            int lastRow = (ids.length - 1) * vocab;
            float maxLast = 0;
            int argmax = 0;
            for (int v = 0; v < vocab; v++) {
                maxLast = Math.max(maxLast, Math.abs(all[lastRow + v] - last[v]));
                if (all[lastRow + v] > all[lastRow + argmax]) argmax = v;
            }
            float maxSub = 0;
            for (int t = 0; t < ids.length; t++) {
                for (int j = 0; j < subset.length; j++) {
                    maxSub = Math.max(maxSub, Math.abs(all[t * vocab + subset[j]] - sub[t * subset.length + j]));
                }
            }
            System.out.printf("gemma3 logits %s (%d tokens): max |diff| last row %.3g, subset at all positions %.3g%n",
                    name, ids.length, maxLast, maxSub);
            assertThat(argmax).as("argmax for %s", name).isEqualTo(prompt.get("argmax").asInt());
            assertThat(maxLast).as("max |logit - reference| at the last position of %s", name).isLessThan(1e-3f);
            assertThat(maxSub).as("max |logit - reference| over the vocab subset at every position of %s", name).isLessThan(1e-3f);
        }
    }

    /**
     * 768 tokens: from position 512 on, a sliding-window layer's query sees only the last 512 keys (itself included).
     * transformers' window (keys with {@code kv > q - 512}) and one a key longer or shorter differ by 0.15-0.7 in these
     * logits, but only by about 1e-4 in a window's mean NLL, below the perplexity test's tolerance.
     */
    @Test
    void logitsPastTheSlidingWindowMatchTransformers() throws IOException {
        JsonNode index = fixture("logits.json");
        int[] subset = JSON.convertValue(index.get("subset_vocab_ids"), int[].class);
        JsonNode prompt = index.get("long_prompt");
        int[] ids = JSON.convertValue(prompt.get("token_ids"), int[].class);
        int from = prompt.get("positions_from").asInt();
        assertThat(ids.length).isGreaterThan(model.config().variant().slidingWindow() + 128);
        assertThat(from).isLessThan(model.config().variant().slidingWindow());
        float[] expected = floats(prompt.get("subset_file").asText());
        assertThat(expected).hasSize((ids.length - from) * subset.length);
        int vocab = model.config().vocabSize();
        float[] all = model.logits(ids);
        float maxBefore = 0, maxPast = 0;
        int argmax = 0;
        for (int t = from; t < ids.length; t++) {
            for (int j = 0; j < subset.length; j++) {
                float d = Math.abs(all[t * vocab + subset[j]] - expected[(t - from) * subset.length + j]);
                if (t < model.config().variant().slidingWindow()) maxBefore = Math.max(maxBefore, d);
                else maxPast = Math.max(maxPast, d);
            }
        }
        int lastRow = (ids.length - 1) * vocab;
        for (int v = 0; v < vocab; v++) if (all[lastRow + v] > all[lastRow + argmax]) argmax = v;
        System.out.printf("gemma3 logits %d-token prompt: max |diff| over the subset at positions %d..511 %.3g, 512..%d %.3g%n",
                ids.length, from, maxBefore, ids.length - 1, maxPast);
        assertThat(maxBefore).as("max |logit - reference| at positions %d..511", from).isLessThan(1e-3f);
        assertThat(maxPast).as("max |logit - reference| at positions 512..%d", ids.length - 1).isLessThan(1e-3f);
        assertThat(argmax).as("argmax at the last position").isEqualTo(prompt.get("argmax_last").asInt());
    }

    @Test
    void perplexityOnUdhrWindowsMatchesTransformers() throws IOException {
        JsonNode fixture = fixture("perplexity.json");
        assertThat(fixture.get("sets")).hasSize(2);
        for (JsonNode set : fixture.get("sets")) {
            String name = set.get("name").asText();
            int[] tokens = JSON.convertValue(set.get("token_ids"), int[].class);
            assertThat(tokens[0]).as("one BOS at the start of the %s stream", name).isEqualTo(2);
            assertThat(Arrays.stream(tokens).filter(t -> t == 2).count()).as("BOS count in %s", name).isEqualTo(1);
            boolean pastWindow = false;
            for (JsonNode r : set.get("results")) {
                int seqlen = r.get("seqlen").asInt();
                pastWindow |= seqlen > model.config().variant().slidingWindow();
                List<int[]> windows = new ArrayList<>();
                for (int w = 0; w < r.get("windows").asInt(); w++) {
                    windows.add(Arrays.copyOfRange(tokens, w * seqlen, (w + 1) * seqlen));
                }
                PerplexityResult ours = Perplexity.evaluate(model::tokenNll, windows, Progress.NONE);
                double reference = r.get("perplexity").asDouble();
                System.out.printf("gemma3 perplexity %s seqlen %d x %d: ours %.6f reference %.6f (rel %.2g)%n", name, seqlen,
                        windows.size(), ours.perplexity(), reference, Math.abs(ours.perplexity() - reference) / reference);
                assertThat(Math.abs(ours.perplexity() - reference) / reference)
                        .as("relative perplexity difference on %s at seqlen %d (ours %.6f, reference %.6f)", name, seqlen,
                                ours.perplexity(), reference)
                        .isLessThan(1e-3);
                JsonNode perWindow = r.get("window_mean_nll");
                for (int w = 0; w < windows.size(); w++) {
                    assertThat(ours.windowLoss()[w]).as("%s window %d loss at seqlen %d", name, w, seqlen)
                            .isCloseTo(perWindow.get(w).asDouble(), within(1e-3));
                }
            }
            assertThat(pastWindow).as("%s has a seqlen longer than the sliding window", name).isTrue();
        }
    }

    private static JsonNode fixture(String name) throws IOException {
        try (InputStream in = Gemma3ReferenceTest.class.getResourceAsStream("/fixtures/gemma3/" + name)) {
            assertThat(in).as("fixture %s", name).isNotNull();
            return JSON.readTree(in);
        }
    }

    private static float[] floats(String name) throws IOException {
        try (InputStream in = Gemma3ReferenceTest.class.getResourceAsStream("/fixtures/gemma3/" + name)) {
            assertThat(in).as("fixture %s", name).isNotNull();
            ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            float[] f = new float[b.remaining() / 4];
            b.asFloatBuffer().get(f);
            return f;
        }
    }
}
