package org.prunelab.io;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import org.prunelab.PrunelabException;

/**
 * The tokenizer a GGUF file describes, as plain data read from its {@code tokenizer.ggml.*} metadata
 * (GGUF spec, "Tokenizer" section; the key names are llama.cpp's).
 *
 * <p>Token ids are indices into {@link #tokens()}. Special token ids are -1 when the file names none.
 * {@link TokenizerJsonBuilder} turns this into a Hugging Face {@code tokenizer.json}.
 *
 * @param model       {@code tokenizer.ggml.model}: the tokenizer family, e.g. "gpt2" (byte-level BPE) or "llama" (SentencePiece)
 * @param pre         {@code tokenizer.ggml.pre}: how text is split before BPE, e.g. "smollm", "llama-bpe"; null when absent
 * @param tokens      {@code tokenizer.ggml.tokens}: the vocabulary, one entry per id
 * @param merges      {@code tokenizer.ggml.merges}: BPE merges "left right", best first; empty when absent
 * @param tokenTypes  {@code tokenizer.ggml.token_type}: one {@code TYPE_*} value per token, or null when absent
 * @param bosTokenId  {@code tokenizer.ggml.bos_token_id}, or -1
 * @param eosTokenId  {@code tokenizer.ggml.eos_token_id}, or -1
 * @param unkTokenId  {@code tokenizer.ggml.unknown_token_id}, or -1
 * @param padTokenId  {@code tokenizer.ggml.padding_token_id}, or -1
 * @param addBosToken {@code tokenizer.ggml.add_bos_token}: whether the model expects BOS in front of a sequence
 * @param addEosToken {@code tokenizer.ggml.add_eos_token}: whether the model expects EOS after a sequence
 * @param architecture {@code general.architecture}, e.g. "gemma3": SentencePiece vocabularies are built per
 *                    model family, as in transformers; null when unknown
 * @throws PrunelabException.Tokenizer if the data is missing or inconsistent
 */
public record GgufVocab(
        String model,
        String pre,
        List<String> tokens,
        List<String> merges,
        int[] tokenTypes,
        int bosTokenId,
        int eosTokenId,
        int unkTokenId,
        int padTokenId,
        boolean addBosToken,
        boolean addEosToken,
        String architecture) {

    /** Token types of {@code tokenizer.ggml.token_type}, as llama.cpp numbers them. */
    public static final int TYPE_NORMAL = 1;
    public static final int TYPE_UNKNOWN = 2;
    public static final int TYPE_CONTROL = 3;
    public static final int TYPE_USER_DEFINED = 4;
    public static final int TYPE_UNUSED = 5;
    public static final int TYPE_BYTE = 6;

    private static final String FIX =
            " Re-export the model with llama.cpp's convert_hf_to_gguf.py, which writes the tokenizer into the GGUF,"
                    + " or pass a tokenizer.json for the model explicitly.";

    /** A vocabulary whose model family is unknown ({@link #architecture()} null). */
    public GgufVocab(String model, String pre, List<String> tokens, List<String> merges, int[] tokenTypes,
            int bosTokenId, int eosTokenId, int unkTokenId, int padTokenId, boolean addBosToken, boolean addEosToken) {
        this(model, pre, tokens, merges, tokenTypes, bosTokenId, eosTokenId, unkTokenId, padTokenId, addBosToken,
                addEosToken, null);
    }

    /**
     * Reads the {@code tokenizer.ggml.*} keys of a GGUF file's metadata.
     *
     * <p>{@code add_bos_token} defaults to true for SentencePiece vocabularies ({@code model = "llama"}) that
     * do not state it, as in llama.cpp and transformers' GGUF loader; to false otherwise.
     *
     * @param file the GGUF file, named in error messages
     * @throws PrunelabException.Tokenizer if the file carries no tokenizer data
     */
    public static GgufVocab fromMetadata(GgufMetadata m, java.nio.file.Path file) {
        if (!m.contains("tokenizer.ggml.model") || !m.contains("tokenizer.ggml.tokens")) {
            throw new PrunelabException.Tokenizer(file + " has no tokenizer data (tokenizer.ggml.model/tokens missing)." + FIX);
        }
        String model = m.getString("tokenizer.ggml.model");
        return new GgufVocab(
                model,
                m.getString("tokenizer.ggml.pre", null),
                m.getStringArray("tokenizer.ggml.tokens"),
                m.contains("tokenizer.ggml.merges") ? m.getStringArray("tokenizer.ggml.merges") : List.of(),
                m.contains("tokenizer.ggml.token_type") ? m.getIntArray("tokenizer.ggml.token_type") : null,
                m.getInt("tokenizer.ggml.bos_token_id", -1),
                m.getInt("tokenizer.ggml.eos_token_id", -1),
                m.getInt("tokenizer.ggml.unknown_token_id", -1),
                m.getInt("tokenizer.ggml.padding_token_id", -1),
                m.getBool("tokenizer.ggml.add_bos_token", model.equals("llama")),
                m.getBool("tokenizer.ggml.add_eos_token", false),
                m.getString("general.architecture", null));
    }

    public GgufVocab {
        if (model == null || model.isBlank()) {
            throw new PrunelabException.Tokenizer(
                    "The GGUF file has no tokenizer data (tokenizer.ggml.model is missing)." + FIX);
        }
        if (tokens == null || tokens.isEmpty()) {
            throw new PrunelabException.Tokenizer(
                    "The GGUF file's tokenizer data is missing its vocabulary (tokenizer.ggml.tokens)." + FIX);
        }
        tokens = List.copyOf(tokens);
        merges = merges == null ? List.of() : List.copyOf(merges);
        if (model.equals("gpt2") && merges.isEmpty()) {
            throw new PrunelabException.Tokenizer("The GGUF file's tokenizer data is missing: tokenizer model 'gpt2' "
                    + "(byte-level BPE) needs tokenizer.ggml.merges, and the file has none." + FIX);
        }
        if (tokenTypes != null) {
            if (tokenTypes.length != tokens.size()) {
                throw new PrunelabException.Tokenizer("The GGUF file's tokenizer data is inconsistent: "
                        + tokenTypes.length + " token types for " + tokens.size() + " tokens." + FIX);
            }
            tokenTypes = tokenTypes.clone();
        }
        checkId("bos", bosTokenId, tokens.size());
        checkId("eos", eosTokenId, tokens.size());
        checkId("unknown", unkTokenId, tokens.size());
        checkId("padding", padTokenId, tokens.size());
    }

    private static void checkId(String name, int id, int vocabSize) {
        if (id < -1 || id >= vocabSize) {
            throw new PrunelabException.Tokenizer("The GGUF file's tokenizer.ggml." + name + "_token_id is " + id
                    + ", outside the vocabulary of " + vocabSize + " tokens." + FIX);
        }
    }

    /** The token types (a copy), or null when the file has none. */
    @Override
    public int[] tokenTypes() {
        return tokenTypes == null ? null : tokenTypes.clone();
    }

    /** The type of token {@code id}; {@link #TYPE_NORMAL} when the file lists no types. */
    public int tokenType(int id) {
        return tokenTypes == null ? TYPE_NORMAL : tokenTypes[id];
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufVocab v && model.equals(v.model) && Objects.equals(pre, v.pre)
                && tokens.equals(v.tokens) && merges.equals(v.merges) && Arrays.equals(tokenTypes, v.tokenTypes)
                && bosTokenId == v.bosTokenId && eosTokenId == v.eosTokenId && unkTokenId == v.unkTokenId
                && padTokenId == v.padTokenId && addBosToken == v.addBosToken && addEosToken == v.addEosToken
                && Objects.equals(architecture, v.architecture);
    }

    @Override
    public int hashCode() {
        return Objects.hash(model, pre, tokens, merges, Arrays.hashCode(tokenTypes), bosTokenId, eosTokenId,
                unkTokenId, padTokenId, addBosToken, addEosToken, architecture);
    }

    @Override
    public String toString() {
        return "GgufVocab[model=" + model + ", pre=" + pre + ", architecture=" + architecture + ", tokens=" + tokens.size() + ", merges="
                + merges.size() + ", bos=" + bosTokenId + ", eos=" + eosTokenId + ", unk=" + unkTokenId
                + ", pad=" + padTokenId + ", addBos=" + addBosToken + ", addEos=" + addEosToken + "]";
    }
}
