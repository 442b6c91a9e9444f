package org.prunelab.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.prunelab.PrunelabException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loading a tokenizer.json that is missing or broken fails with a message that says what to do. */
class TokenizerTest {

    @Test
    void missingFile(@TempDir Path dir) {
        Path missing = dir.resolve("nope/tokenizer.json");
        assertThatThrownBy(() -> Tokenizer.fromTokenizerJson(missing))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("Cannot read the tokenizer file " + missing)
                .hasMessageContaining("readable tokenizer.json");
    }

    @Test
    void notJson(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", ");
        assertThatThrownBy(() -> Tokenizer.fromTokenizerJson(file))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("not valid JSON");
    }

    @Test
    void jsonThatIsNotATokenizer(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("config.json"), "{\"hidden_size\": 576}");
        assertThatThrownBy(() -> Tokenizer.fromTokenizerJson(file))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("no \"model\" section");
    }

    @Test
    void tokenizerJsonTheLibraryRejects(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"NoSuchModel\"}}");
        assertThatThrownBy(() -> Tokenizer.fromTokenizerJson(file))
                .isInstanceOf(PrunelabException.Tokenizer.class)
                .hasMessageContaining("could not be loaded")
                .hasMessageContaining("Hugging Face tokenizer.json");
    }

    @Test
    void writeToAnUnwritablePlace(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), MINIMAL);
        Path blocker = Files.writeString(dir.resolve("blocker"), "a file, not a folder");
        try (Tokenizer tok = Tokenizer.fromTokenizerJson(file)) {
            assertThat(tok.encode("ab")).containsExactly(2);
            assertThatThrownBy(() -> tok.writeTokenizerJson(blocker.resolve("tokenizer.json")))
                    .isInstanceOf(PrunelabException.Tokenizer.class)
                    .hasMessageContaining("Cannot write the tokenizer");
        }
    }

    /** A two-letter BPE tokenizer.json written by hand, with a BOS in its post-processor. */
    private static final String MINIMAL = """
            {"version": "1.0", "added_tokens": [{"id": 3, "content": "<s>", "single_word": false, "lstrip": false,
              "rstrip": false, "normalized": false, "special": true}],
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "post_processor": {"type": "TemplateProcessing",
               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
               "special_tokens": {"<s>": {"id": "<s>", "ids": [3], "tokens": ["<s>"]}}},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<s>": 3}, "merges": [["a", "b"]]}}
            """;

    @Test
    void bosComesFromThePostProcessorAndIsNotAddedByEncode(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("tokenizer.json"), MINIMAL);
        try (Tokenizer tok = Tokenizer.fromTokenizerJson(file)) {
            assertThat(tok.bosTokenId()).contains(3);
            assertThat(tok.addBosToken()).isTrue();
            assertThat(tok.vocabSize()).isEqualTo(4);
            assertThat(tok.encode("abab<s>")).containsExactly(2, 2, 3);
            assertThat(tok.decode(new int[] {2, 3})).isEqualTo("ab<s>");
        }
    }
}
