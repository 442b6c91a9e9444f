package org.prunelab.io;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.data.Tokenizer;
import org.prunelab.fuzz.FuzzContract;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for the tokenizer builder: a GGUF vocabulary ({@link GgufVocab}, as {@code tokenizer.ggml.*} metadata
 * gives it) becomes a tokenizer.json ({@link TokenizerJsonBuilder}), which the Hugging Face tokenizers library must
 * then load and use: every id it returns lies in the vocabulary. A vocabulary that cannot be built is refused with a
 * {@link org.prunelab.PrunelabException.Tokenizer}. Contract: {@link FuzzContract}.
 */
class TokenizerBuilderFuzzTest {
    private static final List<String> MODELS = List.of("gpt2", "llama", "bert", "");
    private static final List<String> ARCHITECTURES = List.of("llama", "gemma3", "gemma", "qwen2", "");

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void vocabulary(FuzzedDataProvider data) {
        int size = data.remainingBytes();
        String model = data.consumeBoolean() ? data.pickValue(MODELS) : data.consumeString(8);
        String pre = switch (data.consumeInt(0, 2)) {
            case 0 -> null;
            case 1 -> data.pickValue(TokenizerJsonBuilder.supportedPreTypes());
            default -> data.consumeString(12);
        };
        String arch = data.consumeBoolean() ? null : data.consumeBoolean() ? data.pickValue(ARCHITECTURES) : data.consumeString(8);
        int n = data.consumeInt(0, 48);
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < n; i++) tokens.add(data.consumeBoolean() ? String.valueOf((char) data.consumeInt(0x21, 0x17F)) : data.consumeString(6));
        List<String> merges = new ArrayList<>();
        int m = data.consumeInt(0, 32);
        for (int i = 0; i < m; i++) {
            merges.add(data.consumeBoolean() && n > 0
                    ? tokens.get(data.consumeInt(0, n - 1)) + " " + tokens.get(data.consumeInt(0, n - 1))
                    : data.consumeString(8));
        }
        int[] types = null;
        if (data.consumeBoolean()) {
            types = new int[data.consumeBoolean() ? n : data.consumeInt(0, 48)];
            for (int i = 0; i < types.length; i++) types[i] = data.consumeInt(0, 7);
        }
        int bos = data.consumeInt(-2, n + 1);
        int eos = data.consumeInt(-2, n + 1);
        int unk = data.consumeInt(-2, n + 1);
        int pad = data.consumeInt(-2, n + 1);
        boolean addBos = data.consumeBoolean();
        boolean addEos = data.consumeBoolean();
        String text = data.consumeRemainingAsString();
        int[] typesFinal = types;
        FuzzContract.run(size, () -> {
            GgufVocab vocab = new GgufVocab(model, pre, tokens, merges, typesFinal, bos, eos, unk, pad, addBos, addEos, arch);
            assertThat(TokenizerJsonBuilder.toJsonString(vocab)).startsWith("{");
            try (Tokenizer tokenizer = Tokenizer.fromGgufVocab(vocab)) {
                for (int id : tokenizer.encodeWithDefaults(text)) assertThat(id).isBetween(0, n - 1);
            }
        });
    }
}
