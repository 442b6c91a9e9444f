package org.prunelab.io;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A hand-made byte-level BPE vocabulary, small enough to work out every encoding by hand. Needs no file.
 */
class TokenizerJsonBuilderTest {
    // id:                                0                1    2    3    4    5     6      7      8    9    10    11     12      13   14
    private static final List<String> TOKENS = List.of("<|endoftext|>", "a", "b", "c", "Ġ", "ab", "Ġab", "abc", "1", "2", "12", "123", "1234", "3", "4");
    private static final List<String> MERGES = List.of("a b", "Ġ ab", "ab c", "1 2", "12 3", "123 4");
    private static final int[] TYPES = {3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

    private static GgufVocab tiny(String pre, boolean addBos) {
        return new GgufVocab("gpt2", pre, TOKENS, MERGES, TYPES, 0, 0, -1, -1, addBos, false);
    }

    @Test
    void mergesApplyInRankOrder() {
        try (Tokenizer tok = Tokenizer.fromGgufVocab(tiny("smollm", false))) {
            // "ab" -> a b -> ab. " abc" -> Ġ a b c -> (a b, rank 0) Ġ ab c -> (Ġ ab, rank 1 beats ab c, rank 2) Ġab c.
            assertThat(tok.encode("ab abc")).containsExactly(5, 6, 3);
            // No leading space: a b c -> ab c -> abc.
            assertThat(tok.encode("abc")).containsExactly(7);
            assertThat(tok.encode("cab")).containsExactly(3, 5);
            assertThat(tok.decode(new int[] {5, 6, 3})).isEqualTo("ab abc");
            assertThat(tok.vocabSize()).isEqualTo(TOKENS.size());
        }
    }

    @Test
    void controlTokenTextIsOneSpecialToken() {
        try (Tokenizer tok = Tokenizer.fromGgufVocab(tiny("smollm", false))) {
            assertThat(tok.encode("abc<|endoftext|>ab")).containsExactly(7, 0, 5);
            assertThat(tok.decode(new int[] {7, 0})).isEqualTo("abc<|endoftext|>");
        }
    }

    @Test
    void preTypeDecidesHowDigitsAreGrouped() {
        // GPT-2's regex keeps a run of digits together; Llama 3's splits it into groups of at most three.
        try (Tokenizer gpt2 = Tokenizer.fromGgufVocab(tiny("gpt2", false));
             Tokenizer llama3 = Tokenizer.fromGgufVocab(tiny("llama-bpe", false))) {
            assertThat(gpt2.encode("1234")).containsExactly(12);
            assertThat(llama3.encode("1234")).containsExactly(11, 14);
        }
    }

    @Test
    void postProcessorAddsBosOnlyWhenTheFileSaysSo() {
        JsonNode withBos = TokenizerJsonBuilder.build(tiny("smollm", true)).get("post_processor");
        assertThat(withBos.get("single").get(0).get("SpecialToken").get("id").asText()).isEqualTo("<|endoftext|>");
        assertThat(withBos.get("special_tokens").get("<|endoftext|>").get("ids").get(0).asInt()).isZero();

        JsonNode withoutBos = TokenizerJsonBuilder.build(tiny("smollm", false)).get("post_processor");
        assertThat(withoutBos.get("single")).hasSize(1);
        assertThat(withoutBos.get("single").get(0).has("Sequence")).isTrue();

        try (Tokenizer tok = Tokenizer.fromGgufVocab(tiny("smollm", true))) {
            assertThat(tok.addBosToken()).isTrue();
            assertThat(tok.bosTokenId()).contains(0);
            assertThat(tok.encode("ab")).containsExactly(5); // encode never adds it
        }
    }

    @Test
    void byteLevelAlphabetIsGpt2s() {
        // GPT-2's byte-to-unicode table: space -> U+0120 'Ġ', newline -> U+010A 'Ċ', printable ASCII unchanged.
        assertThat(TokenizerJsonBuilder.ByteLevelAlphabet.spell(" \nA")).isEqualTo("ĠĊA");
        // A token stored as text outside the alphabet is respelled from its UTF-8 bytes (E2 82 AC).
        assertThat(TokenizerJsonBuilder.ByteLevelAlphabet.contains("€")).isFalse();
        assertThat(TokenizerJsonBuilder.ByteLevelAlphabet.spell("€")).isEqualTo("âĤ¬");
    }

    @Test
    void gpt2ModelWithoutMergesSaysTheTokenizerDataIsMissing() {
        assertThatThrownBy(() -> new GgufVocab("gpt2", "smollm", TOKENS, List.of(), TYPES, 0, 0, -1, -1, false, false))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("tokenizer data is missing")
                .hasMessageContaining("tokenizer.ggml.merges")
                .hasMessageContaining("convert_hf_to_gguf.py");
    }

    @Test
    void inconsistentVocabulariesAreRejected() {
        assertThatThrownBy(() -> new GgufVocab(null, null, TOKENS, MERGES, TYPES, 0, 0, -1, -1, false, false))
                .isInstanceOf(PrunelabException.Tokenizer.class).hasMessageContaining("tokenizer.ggml.model");
        assertThatThrownBy(() -> new GgufVocab("gpt2", "smollm", TOKENS, MERGES, new int[3], 0, 0, -1, -1, false, false))
                .isInstanceOf(PrunelabException.Tokenizer.class).hasMessageContaining("3 token types for 15 tokens");
        assertThatThrownBy(() -> new GgufVocab("gpt2", "smollm", TOKENS, MERGES, TYPES, 99, 0, -1, -1, false, false))
                .isInstanceOf(PrunelabException.Tokenizer.class).hasMessageContaining("bos_token_id is 99");
    }

    @Test
    void unknownPreTypeListsTheSupportedOnes() {
        assertThatThrownBy(() -> TokenizerJsonBuilder.build(tiny("chatglm-bpe", false)))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("'chatglm-bpe'")
                .hasMessageContaining("smollm")
                .hasMessageContaining("tokenizer.json");
    }

    @Test
    void sentencePieceModelIsUnsupported() {
        var spm = new GgufVocab("llama", "default", TOKENS, List.of(), TYPES, 0, 0, -1, -1, true, false);
        assertThatThrownBy(() -> TokenizerJsonBuilder.build(spm))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("'llama'")
                .hasMessageContaining("gpt2");
    }

    @Test
    void malformedMergeNamesItsIndex() {
        var bad = new GgufVocab("gpt2", "smollm", TOKENS, List.of("a b", "abc"), TYPES, 0, 0, -1, -1, false, false);
        assertThatThrownBy(() -> TokenizerJsonBuilder.build(bad))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("merge #1 ('abc')");
    }
}
