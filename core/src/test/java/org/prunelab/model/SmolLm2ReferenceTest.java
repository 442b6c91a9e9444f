package org.prunelab.model;

import org.prunelab.arch.ModelLoader;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.prunelab.Progress;
import org.prunelab.TestModels;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.eval.Perplexity;
import org.prunelab.eval.PerplexityResult;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The real SmolLM2-135M-Instruct against transformers + torch (CPU, fp32) on the same GGUF: fixtures made by
 * {@code tools/reference/model_fixtures.py}. Final-position logits of three prompts within 1e-3 absolute, and
 * perplexity on fixed Brown windows at two seqlens within 0.1% relative.
 */
class SmolLm2ReferenceTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static LoadedModel loaded;

    @BeforeAll
    static void load() {
        TestModels.smollm2Gguf();   // skips the class when setup has not fetched the model
        loaded = ModelLoader.load(TestModels.smollm2Gguf().toString(), new PrunelabHome(TestModels.home()));
    }

    @AfterAll
    static void close() {
        if (loaded != null) loaded.close();
    }

    @Test
    void finalLogitsMatchTransformers() throws IOException {
        JsonNode index = fixture("logits.json");
        assertThat(index.get("prompts")).hasSize(3);
        for (JsonNode prompt : index.get("prompts")) {
            int[] ids = JSON.convertValue(prompt.get("token_ids"), int[].class);
            assertThat(loaded.tokenizer().encode(prompt.get("text").asText()))
                    .as("token ids of the %s prompt", prompt.get("name").asText()).containsExactly(ids);
            float[] expected = floats(prompt.get("file").asText());
            float[] all = loaded.model().logits(ids);
            int vocab = loaded.config().vocabSize();
            float maxDiff = 0;
            int argmax = 0;
            for (int v = 0; v < vocab; v++) {
                float got = all[(ids.length - 1) * vocab + v];
                maxDiff = Math.max(maxDiff, Math.abs(got - expected[v]));
                if (got > all[(ids.length - 1) * vocab + argmax]) argmax = v;
            }
            assertThat(maxDiff).as("max |logit - reference| for %s", prompt.get("name").asText()).isLessThan(1e-3f);
            assertThat(argmax).isEqualTo(prompt.get("argmax").asInt());
        }
    }

    @Test
    void perplexityOnFixedWindowsMatchesTransformers() throws IOException {
        JsonNode fixture = fixture("perplexity.json");
        int[] tokens = JSON.convertValue(fixture.get("token_ids"), int[].class);
        assertThat(fixture.get("results")).hasSize(2);
        for (JsonNode r : fixture.get("results")) {
            int seqlen = r.get("seqlen").asInt();
            List<int[]> windows = new ArrayList<>();
            for (int w = 0; w < r.get("windows").asInt(); w++) {
                windows.add(java.util.Arrays.copyOfRange(tokens, w * seqlen, (w + 1) * seqlen));
            }
            PerplexityResult ours = Perplexity.evaluate(loaded.model()::tokenNll, windows, Progress.NONE);
            double reference = r.get("perplexity").asDouble();
            assertThat(Math.abs(ours.perplexity() - reference) / reference)
                    .as("relative perplexity difference at seqlen %d (ours %.6f, reference %.6f)", seqlen, ours.perplexity(), reference)
                    .isLessThan(1e-3);
            JsonNode perWindow = r.get("window_mean_nll");
            for (int w = 0; w < windows.size(); w++) {
                assertThat(ours.windowLoss()[w]).as("window %d loss at seqlen %d", w, seqlen)
                        .isCloseTo(perWindow.get(w).asDouble(), within(1e-3));
            }
        }
    }

    private static JsonNode fixture(String name) throws IOException {
        try (InputStream in = SmolLm2ReferenceTest.class.getResourceAsStream("/fixtures/smollm2/" + name)) {
            assertThat(in).as("fixture %s", name).isNotNull();
            return JSON.readTree(in);
        }
    }

    private static float[] floats(String name) throws IOException {
        try (InputStream in = SmolLm2ReferenceTest.class.getResourceAsStream("/fixtures/smollm2/" + name)) {
            assertThat(in).as("fixture %s", name).isNotNull();
            ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            float[] f = new float[b.remaining() / 4];
            b.asFloatBuffer().get(f);
            return f;
        }
    }
}
