package org.prunelab.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.prunelab.io.GgufVocab;
import org.prunelab.io.SmolVocab;
import org.prunelab.io.TokenizerJsonBuilder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The SmolLM2 tokenizer built from the GGUF vocabulary gives the same ids as transformers' tokenizer built
 * from the same GGUF. Expected ids: fixtures/tokenizer/smollm2_ids.json, made by
 * tools/reference/tokenizer_fixtures.py.
 */
class TokenizerFixtureTest {
    private static JsonNode fixture;
    private static GgufVocab vocab;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        vocab = SmolVocab.load();
        tokenizer = Tokenizer.fromGgufVocab(vocab);
        try (InputStream in = TokenizerFixtureTest.class.getResourceAsStream("/fixtures/tokenizer/smollm2_ids.json")) {
            fixture = new ObjectMapper().readTree(in);
        }
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    /** "text" -> ids mismatches against the fixture, one line each; empty when all match. */
    private static List<String> mismatches(Tokenizer tok) {
        return TokenizerFixtures.mismatches(tok, fixture);
    }

    @Test
    void idsMatchTransformersForEveryFixtureString() {
        assertThat(fixture.get("encode").size()).isGreaterThanOrEqualTo(240);
        assertThat(mismatches(tokenizer)).isEmpty();
    }

    @Test
    void tokenizerJsonMatchesTransformersSectionBySection() {
        ObjectNode ours = TokenizerJsonBuilder.build(vocab);
        ObjectNode model = (ObjectNode) ours.get("model");
        model.put("vocab_count", model.remove("vocab").size());
        model.put("merges_count", model.remove("merges").size());
        JsonNode theirs = fixture.get("tokenizer_json_without_vocab");
        assertThat(ours.properties()).extracting(Map.Entry::getKey)
                .containsExactlyInAnyOrderElementsOf(theirs::fieldNames);
        theirs.fieldNames().forEachRemaining(section ->
                assertThat(ours.get(section)).as("section %s", section).isEqualTo(theirs.get(section)));
    }

    @Test
    void decodeMatchesTransformers() {
        for (JsonNode d : fixture.get("decode")) {
            assertThat(tokenizer.decode(TokenizerFixtures.ints(d.get("ids")))).as("decode of %s", d.get("ids"))
                    .isEqualTo(d.get("text").asText());
        }
    }

    @Test
    void decodeOfEncodeGivesTheTextBack() {
        for (JsonNode s : fixture.get("encode")) {
            String text = s.get("text").asText();
            assertThat(tokenizer.decode(tokenizer.encode(text))).as("round trip of %s", TokenizerFixtures.abbreviate(text)).isEqualTo(text);
        }
    }

    @Test
    void vocabularyAndBosAgreeWithTransformers() {
        assertThat(tokenizer.vocabSize()).isEqualTo(fixture.get("vocab_size").asInt());
        assertThat(tokenizer.bosTokenId()).contains(fixture.get("bos_token_id").asInt());
        assertThat(tokenizer.addBosToken()).isEqualTo(fixture.get("add_bos_token").asBoolean());
    }

    @Test
    void encodeAddsNoBos() {
        assertThat(tokenizer.encode("")).isEmpty();
        int bos = tokenizer.bosTokenId().orElseThrow();
        assertThat(tokenizer.encode("The jury said")).doesNotContain(bos);
        // SmolLM2's tokenizer adds no BOS by default (GGUF add_bos_token false): the evaluation stream is the raw ids.
        assertThat(tokenizer.addBosToken()).isFalse();
        assertThat(tokenizer.encodeWithDefaults("The jury said")).isEqualTo(tokenizer.encode("The jury said"));
    }

    @Test
    void millionCharacterTextComesBackWhole() {
        // Newline-separated sentences: no pre-tokenizer word crosses a line, so the ids of the repeated
        // text are exactly the ids of one copy, repeated. DJL's default would stop at 512 tokens.
        StringBuilder chunk = new StringBuilder();
        for (JsonNode s : fixture.get("encode")) {
            if (s.get("category").asText().equals("brown")) {
                chunk.append(s.get("text").asText()).append('\n');
            }
        }
        int copies = 1_000_000 / chunk.length() + 1;
        String text = chunk.toString().repeat(copies);
        assertThat(text.length()).isGreaterThan(1_000_000);

        int[] one = tokenizer.encode(chunk.toString());
        int[] all = tokenizer.encode(text);

        assertThat(all).hasSize(one.length * copies);
        for (int c = 0; c < copies; c++) {
            assertThat(Arrays.copyOfRange(all, c * one.length, (c + 1) * one.length)).as("copy %d", c).isEqualTo(one);
        }
        assertThat(tokenizer.decode(all)).isEqualTo(text);
    }

    @Test
    void writtenTokenizerJsonReloadsToTheSameTokenizer(@TempDir Path dir) {
        Path file = dir.resolve("export/tokenizer.json");
        tokenizer.writeTokenizerJson(file);
        try (Tokenizer reloaded = Tokenizer.fromTokenizerJson(file)) {
            assertThat(mismatches(reloaded)).isEmpty();
            assertThat(reloaded.vocabSize()).isEqualTo(tokenizer.vocabSize());
            // SmolLM2's GGUF says add_bos_token=false, so the written post-processor names no BOS.
            assertThat(reloaded.addBosToken()).isFalse();
        }
        try (var files = Files.list(file.getParent())) {
            assertThat(files).containsExactly(file); // no temporary file left behind
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
