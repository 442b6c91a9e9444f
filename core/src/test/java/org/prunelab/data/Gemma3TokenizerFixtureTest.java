package org.prunelab.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.prunelab.TestModels;
import org.prunelab.io.GgufFile;
import org.prunelab.io.GgufVocab;
import org.prunelab.io.TokenizerJsonBuilder;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Gemma 3 tokenizer built from the GGUF vocabulary (a SentencePiece BPE vocabulary without merges)
 * gives the same ids as transformers' tokenizer built from the same GGUF. Expected ids:
 * fixtures/tokenizer/gemma3_ids.json, made by {@code tools/reference/tokenizer_fixtures.py --model gemma3}.
 * The vocabulary, the derived merges and the added tokens are compared through the fixture's SHA-256
 * digests (see {@code digest} in that script).
 */
class Gemma3TokenizerFixtureTest {
    private static JsonNode fixture;
    private static GgufVocab vocab;
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        Path path = TestModels.gemma3Gguf();
        try (GgufFile gguf = GgufFile.open(path)) {
            vocab = GgufVocab.fromMetadata(gguf.metadata(), path);
        }
        long start = System.nanoTime();
        tokenizer = Tokenizer.fromGgufVocab(vocab); // the model loader's path
        System.out.printf("Gemma 3 tokenizer (%d tokens) built in %.2f s%n", vocab.tokens().size(),
                (System.nanoTime() - start) / 1e9);
        try (InputStream in = Gemma3TokenizerFixtureTest.class.getResourceAsStream("/fixtures/tokenizer/gemma3_ids.json")) {
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

    /**
     * The fixture script's digest: SHA-256 over rows of fields, each field as its UTF-8 byte length, ':',
     * its bytes, each row closed by ';'. Fields are written as Python's {@code str} writes them.
     */
    private static String digest(Iterable<List<Object>> rows) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        for (List<Object> row : rows) {
            for (Object field : row) {
                String s = field instanceof Boolean b ? (b ? "True" : "False") : field.toString();
                byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
                sha.update((bytes.length + ":").getBytes(StandardCharsets.US_ASCII));
                sha.update(bytes);
            }
            sha.update((byte) ';');
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    @Test
    void idsMatchTransformersForEveryFixtureString() {
        int strings = fixture.get("encode").size();
        assertThat(strings).isGreaterThanOrEqualTo(300);
        assertThat(mismatches(tokenizer)).isEmpty();
        System.out.println("Gemma 3: ids identical to transformers on " + strings + " strings");
    }

    @Test
    void tokenizerJsonMatchesTransformersSectionBySection() {
        ObjectNode ours = TokenizerJsonBuilder.build(vocab);
        JsonNode theirs = fixture.get("tokenizer_json_without_vocab");
        assertThat(ours.properties()).extracting(Map.Entry::getKey)
                .containsExactlyElementsOf(theirs::fieldNames);

        // Vocabulary, merges and added tokens: counts, digests, and the first entries for a readable failure.
        ObjectNode model = (ObjectNode) ours.get("model");
        JsonNode vocabJson = model.remove("vocab");
        ArrayNode merges = (ArrayNode) model.remove("merges");
        List<List<Object>> vocabRows = new ArrayList<>();
        vocabJson.properties().forEach(e -> vocabRows.add(List.of(e.getKey(), e.getValue().asInt())));
        List<List<Object>> mergeRows = new ArrayList<>();
        merges.forEach(m -> mergeRows.add(List.of(m.get(0).asText(), m.get(1).asText())));
        JsonNode theirModel = theirs.get("model");
        assertThat(merges.size()).isEqualTo(theirModel.get("merges_count").asInt());
        for (int i = 0; i < theirModel.get("merges_first").size(); i++) {
            assertThat(merges.get(i)).as("merge #%d", i).isEqualTo(theirModel.get("merges_first").get(i));
        }
        assertThat(vocabRows).hasSize(theirModel.get("vocab_count").asInt());
        assertThat(digest(vocabRows)).as("vocabulary digest").isEqualTo(theirModel.get("vocab_sha256").asText());
        assertThat(digest(mergeRows)).as("merges digest").isEqualTo(theirModel.get("merges_sha256").asText());
        model.put("vocab_count", vocabRows.size());
        model.put("vocab_sha256", theirModel.get("vocab_sha256").asText());
        model.put("merges_count", merges.size());
        model.put("merges_sha256", theirModel.get("merges_sha256").asText());
        model.set("merges_first", theirModel.get("merges_first"));
        assertThat(model).as("model section").isEqualTo(theirModel);

        JsonNode added = ours.remove("added_tokens");
        JsonNode theirAdded = theirs.get("added_tokens");
        List<List<Object>> addedRows = new ArrayList<>();
        for (JsonNode a : added) {
            addedRows.add(List.of(a.get("id").asInt(), a.get("content").asText(), a.get("single_word").asBoolean(),
                    a.get("lstrip").asBoolean(), a.get("rstrip").asBoolean(), a.get("normalized").asBoolean(),
                    a.get("special").asBoolean()));
        }
        assertThat(added.size()).isEqualTo(theirAdded.get("count").asInt());
        for (int i = 0; i < theirAdded.get("first").size(); i++) {
            assertThat(added.get(i)).as("added token #%d", i).isEqualTo(theirAdded.get("first").get(i));
        }
        assertThat(digest(addedRows)).as("added tokens digest").isEqualTo(theirAdded.get("sha256").asText());

        for (String section : List.of("version", "truncation", "padding", "normalizer", "pre_tokenizer",
                "post_processor", "decoder")) {
            assertThat(ours.get(section)).as("section %s", section).isEqualTo(theirs.get(section));
        }
    }

    @Test
    void decodeMatchesTransformers() {
        assertThat(fixture.get("decode").size()).isGreaterThanOrEqualTo(15);
        for (JsonNode d : fixture.get("decode")) {
            assertThat(tokenizer.decode(TokenizerFixtures.ints(d.get("ids")))).as("decode of %s", d.get("ids"))
                    .isEqualTo(d.get("text").asText());
        }
    }

    @Test
    void vocabularyAndBosAgreeWithTransformers() {
        assertThat(tokenizer.vocabSize()).isEqualTo(fixture.get("vocab_size").asInt()).isEqualTo(262_144);
        assertThat(tokenizer.bosTokenId()).contains(2);
        assertThat(fixture.get("bos_token_id").asInt()).isEqualTo(2);
        assertThat(tokenizer.addBosToken()).isTrue();
        assertThat(fixture.get("add_bos_token").asBoolean()).isTrue();
    }

    @Test
    void encodeAddsNoBos() {
        assertThat(tokenizer.encode("")).isEmpty();
        assertThat(tokenizer.encode("The jury said")).doesNotContain(2);
        assertThat(tokenizer.encode("<bos>The jury said")).startsWith(2).containsOnlyOnce(2);
    }

    @Test
    void writtenTokenizerJsonReloadsToTheSameTokenizer(@TempDir Path dir) {
        Path file = dir.resolve("tokenizer.json");
        tokenizer.writeTokenizerJson(file);
        try (Tokenizer reloaded = Tokenizer.fromTokenizerJson(file)) {
            assertThat(mismatches(reloaded)).isEmpty();
            assertThat(reloaded.vocabSize()).isEqualTo(tokenizer.vocabSize());
            // Gemma's GGUF says add_bos_token=true, so the written post-processor puts <bos> first.
            assertThat(reloaded.addBosToken()).isTrue();
            assertThat(reloaded.bosTokenId()).contains(2);
        }
    }
}
