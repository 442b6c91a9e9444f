package org.prunelab.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;
import org.prunelab.io.GgufTestWriter.Arr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A hand-made Gemma-style SentencePiece vocabulary (no merges in the file), small enough to work out the
 * derived merges and every encoding by hand; and the refusal of tokenizer types prunelab cannot build.
 * Needs no model file. Faithfulness to transformers on the real Gemma 3 vocabulary is
 * {@code Gemma3TokenizerFixtureTest}'s job.
 */
class SentencePieceBpeJsonTest {
    // id:                                0        1        2        3        4                  5         6         7         8     9    10   11   12   13    14    15     16    17
    private static final List<String> TOKENS = List.of("<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<0xE2>", "<0x82>", "<0xAC>", "  ", "▁", "a", "b", "c", "bc", "ab", "abc", "▁a", "▁ab");
    private static final int[] TYPES = {3, 3, 3, 3, 3, 6, 6, 6, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1};

    @TempDir
    Path dir;

    private static GgufVocab tiny(String architecture) {
        return new GgufVocab("llama", "default", TOKENS, List.of(), TYPES, 2, 1, 3, 0, true, false, architecture);
    }

    @Test
    void mergesComeFromTheVocabularyInIdOrderLongestLeftPieceFirst() {
        JsonNode model = TokenizerJsonBuilder.build(tiny("gemma3")).get("model");
        List<String> merges = new ArrayList<>();
        model.get("merges").forEach(m -> merges.add(m.get(0).asText() + " " + m.get(1).asText()));
        // "  " (id 8) is respelled "▁▁" and so gives the first merge; "abc" cuts as ab+c before a+bc.
        assertThat(merges).containsExactly("▁ ▁", "b c", "a b", "ab c", "a bc", "▁ a", "▁a b", "▁ ab");
        assertThat(model.get("vocab").get("▁▁").asInt()).isEqualTo(8);
        assertThat(model.get("vocab").has("  ")).isFalse();
        assertThat(model.get("byte_fallback").asBoolean()).isTrue();
        assertThat(model.get("unk_token").asText()).isEqualTo("<unk>");
    }

    @Test
    void encodesByRankWithSpacesAsLowerEighthBlocksAndByteFallback() {
        try (Tokenizer tok = Tokenizer.fromGgufVocab(tiny("gemma3"))) {
            assertThat(tok.encode("abc")).containsExactly(15);     // b+c (rank 1) beats a+b (rank 2), then a+bc
            assertThat(tok.encode(" ab")).containsExactly(17);     // ▁ a b -> ▁ ab -> ▁ab
            assertThat(tok.encode("  a")).containsExactly(8, 10);  // ▁▁ a: no merge "▁▁ a"
            assertThat(tok.encode("€")).containsExactly(5, 6, 7);  // not in the vocabulary: its UTF-8 bytes
            assertThat(tok.encode("xy")).containsExactly(3);       // no byte tokens either: one fused <unk>
            assertThat(tok.encode("<start_of_turn>ab")).containsExactly(4, 14);
            assertThat(tok.decode(new int[] {16, 13, 5, 6, 7})).isEqualTo(" abc€");
            assertThat(tok.decode(new int[] {8, 10})).isEqualTo("  a");
            assertThat(tok.vocabSize()).isEqualTo(TOKENS.size());
            assertThat(tok.bosTokenId()).contains(2);
            assertThat(tok.addBosToken()).isTrue();
            assertThat(tok.encode("ab")).containsExactly(14); // encode never adds BOS
        }
    }

    @Test
    void controlTokensAreSpecialAndRespelledUserDefinedTokensAreNotAdded() {
        JsonNode added = TokenizerJsonBuilder.build(tiny("gemma2")).get("added_tokens");
        List<Integer> ids = new ArrayList<>();
        added.forEach(a -> {
            ids.add(a.get("id").asInt());
            assertThat(a.get("special").asBoolean()).isTrue();
            assertThat(a.get("normalized").asBoolean()).isFalse();
        });
        assertThat(ids).containsExactly(0, 1, 2, 3, 4);
    }

    @Test
    void spaceTokensAreRespelledOnlyWhenAllWhitespaceWithASpace() {
        assertThat(SentencePieceBpeJson.respellSpaceTokens(List.of("  ", " \t", "\t\t", "a ", "\u3000 ", " ")))
                .containsExactly("▁▁", "▁▁", "\t\t", "a ", "▁▁", "▁");
    }

    @Test
    void sentencePieceVocabularyOfAnotherFamilyIsRefusedNamingIt() {
        assertThatThrownBy(() -> TokenizerJsonBuilder.build(tiny("llama")))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("'llama' (SentencePiece) for architecture 'llama'")
                .hasMessageContaining("gpt2")
                .hasMessageContaining("gemma, gemma2, gemma3");
    }

    private Path tinyGguf(String architecture, String tokenizerModel, boolean withAddBos) throws IOException {
        GgufTestWriter w = new GgufTestWriter()
                .kv("general.architecture", GgufValueType.STRING, architecture)
                .kv("tokenizer.ggml.model", GgufValueType.STRING, tokenizerModel)
                .kv("tokenizer.ggml.tokens", GgufValueType.ARRAY, new Arr(GgufValueType.STRING, TOKENS))
                .kv("tokenizer.ggml.token_type", GgufValueType.ARRAY,
                        new Arr(GgufValueType.INT32, java.util.Arrays.stream(TYPES).mapToObj(t -> (long) t).toList()))
                .kv("tokenizer.ggml.bos_token_id", GgufValueType.UINT32, 2L)
                .kv("tokenizer.ggml.eos_token_id", GgufValueType.UINT32, 1L);
        if (withAddBos) {
            w.kv("tokenizer.ggml.add_bos_token", GgufValueType.BOOL, false);
        }
        return w.write(dir.resolve(architecture + "-" + tokenizerModel + ".gguf"));
    }

    private static GgufVocab read(Path file) {
        try (GgufFile gguf = GgufFile.open(file)) {
            return GgufVocab.fromMetadata(gguf.metadata(), file);
        }
    }

    @Test
    void unsupportedTokenizerModelInAGgufIsRefusedNamingItAndWhatIsSupported() throws IOException {
        GgufVocab bert = read(tinyGguf("bert", "bert", false));
        assertThat(bert.architecture()).isEqualTo("bert");
        assertThatThrownBy(() -> Tokenizer.fromGgufVocab(bert))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("'bert' (tokenizer.ggml.model) is not supported")
                .hasMessageContaining("'gpt2' (byte-level BPE)")
                .hasMessageContaining("'llama' (SentencePiece BPE)")
                .hasMessageContaining("gemma, gemma2, gemma3")
                .hasMessageContaining("tokenizer.json");
    }

    @Test
    void ggufGemmaVocabularyIsBuiltAndAddsBosUnlessTheFileSaysOtherwise() throws IOException {
        GgufVocab gemma = read(tinyGguf("gemma3", "llama", false));
        assertThat(gemma.addBosToken()).isTrue(); // llama vocabularies default to BOS, as in llama.cpp/transformers
        try (Tokenizer tok = Tokenizer.fromGgufVocab(gemma)) {
            assertThat(tok.encode(" abc")).containsExactly(9, 15); // ▁ a b c -> ▁ a bc -> ▁ abc
            assertThat(tok.addBosToken()).isTrue();
        }
        assertThat(read(tinyGguf("gemma", "llama", true)).addBosToken()).isFalse();
        assertThat(read(tinyGguf("qwen2", "gpt2-nomerges", false)).addBosToken()).isFalse();
    }
}
