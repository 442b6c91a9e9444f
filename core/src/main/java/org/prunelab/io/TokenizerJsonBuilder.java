package org.prunelab.io;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.prunelab.PrunelabException;

/**
 * Builds a Hugging Face {@code tokenizer.json} (the format of the Rust {@code tokenizers} library) from the
 * tokenizer a GGUF file describes.
 *
 * <p>The result matches what transformers builds from the same GGUF
 * ({@code AutoTokenizer.from_pretrained(dir, gguf_file=...)}, module
 * {@code transformers/integrations/gguf/gguf_tokenizer_mapping.py}): a BPE model with the file's vocabulary
 * and merges, a byte-level pre-tokenizer and decoder, the file's control tokens as special added tokens,
 * and a post-processor that adds BOS/EOS only where the file's {@code add_bos_token}/{@code add_eos_token}
 * say so. {@code tools/reference/tokenizer_fixtures.py} records transformers' ids for a test to compare.
 *
 * <p>Supported: byte-level BPE vocabularies ({@code tokenizer.ggml.model = "gpt2"}) with the pre-tokenizer
 * types listed in {@link #supportedPreTypes()}, and SentencePiece BPE vocabularies
 * ({@code tokenizer.ggml.model = "llama"}) of the Gemma family ({@code general.architecture} gemma, gemma2,
 * gemma3), built by {@link SentencePieceBpeJson}. Anything else is refused with a message saying so.
 */
public final class TokenizerJsonBuilder {
    private TokenizerJsonBuilder() {}

    /**
     * How text is cut into words before BPE. GPT2 is the byte-level pre-tokenizer's built-in regex (the
     * GPT-2 pattern); the others are a regex split followed by byte-level mapping without a regex.
     */
    private enum Split {
        GPT2(null),
        LLAMA3("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        QWEN2("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
                + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

        final String regex;

        Split(String regex) {
            this.regex = regex;
        }
    }

    /**
     * {@code tokenizer.ggml.pre} values we accept, and the split each gets in transformers' GGUF loader
     * ({@code GGUF_PRE_TOKENIZER_SPLITS}; a type it does not list gets GPT2Tokenizer's ByteLevel default).
     * Note "smollm": llama.cpp additionally isolates every digit for it ({@code \p{N}} before the GPT-2
     * regex, as SmolLM's own tokenizer.json does), transformers does not; we follow transformers, the
     * reference our fixtures come from. The two differ only on rare inputs such as "  1" or non-ASCII digits.
     */
    private static final Map<String, Split> PRE_TYPES = Map.ofEntries(
            Map.entry("default", Split.GPT2),
            Map.entry("gpt2", Split.GPT2),
            Map.entry("smollm", Split.GPT2),
            Map.entry("llama3", Split.LLAMA3),
            Map.entry("llama-v3", Split.LLAMA3),
            Map.entry("llama-bpe", Split.LLAMA3),
            Map.entry("smaug-bpe", Split.LLAMA3),
            Map.entry("dbrx", Split.LLAMA3),
            Map.entry("falcon3", Split.LLAMA3),
            Map.entry("qwen2", Split.QWEN2),
            Map.entry("deepseek-r1-qwen", Split.QWEN2));

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** The {@code tokenizer.ggml.pre} values this builder accepts, sorted. */
    public static List<String> supportedPreTypes() {
        return PRE_TYPES.keySet().stream().sorted().toList();
    }

    /**
     * The tokenizer.json for {@code vocab}, as a JSON string (compact, UTF-8 safe).
     *
     * @throws PrunelabException.Tokenizer if the vocabulary's model or pre-tokenizer type is unsupported,
     *         or a merge is malformed
     */
    public static String toJsonString(GgufVocab vocab) {
        try {
            return MAPPER.writeValueAsString(build(vocab));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a JSON tree we built", e);
        }
    }

    /**
     * The tokenizer.json for {@code vocab}, as a Jackson tree.
     *
     * @throws PrunelabException.Tokenizer if the vocabulary's model or pre-tokenizer type is unsupported,
     *         or a merge is malformed
     */
    public static ObjectNode build(GgufVocab vocab) {
        if (vocab.model().equals("llama") && vocab.architecture() != null
                && SentencePieceBpeJson.GEMMA_ARCHITECTURES.contains(vocab.architecture())) {
            return SentencePieceBpeJson.build(vocab);
        }
        if (!vocab.model().equals("gpt2")) {
            String which = vocab.model().equals("llama")
                    ? "'llama' (SentencePiece) for " + (vocab.architecture() == null ? "a model of unknown architecture"
                            : "architecture '" + vocab.architecture() + "' (general.architecture)")
                    : "'" + vocab.model() + "' (tokenizer.ggml.model)";
            throw new PrunelabException.Tokenizer("The model's tokenizer type " + which + " is not supported; "
                    + "prunelab builds tokenizers for 'gpt2' (byte-level BPE) vocabularies and for 'llama' "
                    + "(SentencePiece BPE) vocabularies of the architectures "
                    + String.join(", ", SentencePieceBpeJson.GEMMA_ARCHITECTURES.stream().sorted().toList())
                    + ". Use the model's own tokenizer.json from its Hugging Face repository instead.");
        }
        String preType = vocab.pre() == null ? "default" : vocab.pre();
        Split split = PRE_TYPES.get(preType);
        if (split == null) {
            throw new PrunelabException.Tokenizer("The model's pre-tokenizer type '" + preType
                    + "' (tokenizer.ggml.pre) is not supported; supported: " + String.join(", ", supportedPreTypes())
                    + ". Use the model's own tokenizer.json from its Hugging Face repository instead.");
        }

        List<String> spelled = byteLevelSpelling(vocab.tokens());
        ObjectNode root = JSON.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.set("added_tokens", addedTokens(vocab, spelled));
        root.putNull("normalizer");
        root.set("pre_tokenizer", preTokenizer(split));
        root.set("post_processor", postProcessor(vocab));
        root.set("decoder", byteLevel(true, true));
        root.set("model", bpeModel(spelled, vocab.merges()));
        return root;
    }

    /**
     * The vocabulary as the BPE model must see it: in the byte-level alphabet. A GGUF normally stores
     * tokens already spelled that way ("Ġthe"); a token with any other character is respelled from its
     * UTF-8 bytes, as transformers does.
     */
    private static List<String> byteLevelSpelling(List<String> tokens) {
        List<String> out = new ArrayList<>(tokens.size());
        for (String token : tokens) {
            out.add(ByteLevelAlphabet.contains(token) ? token : ByteLevelAlphabet.spell(token));
        }
        return out;
    }

    /**
     * Control tokens become special added tokens, so that their text ("&lt;|im_end|&gt;") is matched whole;
     * user-defined tokens become plain added tokens. As in transformers, a control token outside the
     * byte-level alphabet is a mislabel and is skipped. The BOS/EOS/UNK/PAD tokens are special too.
     */
    private static ArrayNode addedTokens(GgufVocab vocab, List<String> spelled) {
        Map<Integer, Boolean> added = new TreeMap<>(); // id -> special
        Set<String> inVocab = new HashSet<>(spelled);
        for (int id = 0; id < vocab.tokens().size(); id++) {
            String token = vocab.tokens().get(id);
            int type = vocab.tokenType(id);
            if (type == GgufVocab.TYPE_CONTROL && ByteLevelAlphabet.contains(token)) {
                added.put(id, true);
            } else if (type == GgufVocab.TYPE_USER_DEFINED && inVocab.contains(token)) {
                added.put(id, false);
            }
        }
        for (int id : new int[] {vocab.bosTokenId(), vocab.eosTokenId(), vocab.unkTokenId(), vocab.padTokenId()}) {
            if (id >= 0 && ByteLevelAlphabet.contains(vocab.tokens().get(id))) {
                added.put(id, true);
            }
        }
        ArrayNode list = JSON.arrayNode();
        added.forEach((id, special) -> addedToken(list, id, vocab.tokens().get(id), special));
        return list;
    }

    /** Appends one added token, matched whole in raw text (not normalized, no stripping). */
    static void addedToken(ArrayNode list, int id, String content, boolean special) {
        ObjectNode t = list.addObject();
        t.put("id", id);
        t.put("content", content);
        t.put("single_word", false);
        t.put("lstrip", false);
        t.put("rstrip", false);
        t.put("normalized", false);
        t.put("special", special);
    }

    private static ObjectNode preTokenizer(Split split) {
        if (split.regex == null) {
            return byteLevel(false, true);
        }
        ObjectNode regexSplit = JSON.objectNode();
        regexSplit.put("type", "Split");
        regexSplit.putObject("pattern").put("Regex", split.regex);
        regexSplit.put("behavior", "Isolated");
        regexSplit.put("invert", false);
        ObjectNode seq = JSON.objectNode();
        seq.put("type", "Sequence");
        seq.putArray("pretokenizers").add(regexSplit).add(byteLevel(false, false));
        return seq;
    }

    private static ObjectNode byteLevel(boolean addPrefixSpace, boolean useRegex) {
        ObjectNode n = JSON.objectNode();
        n.put("type", "ByteLevel");
        n.put("add_prefix_space", addPrefixSpace);
        n.put("trim_offsets", true);
        n.put("use_regex", useRegex);
        return n;
    }

    /** "BOS $A EOS" with each part present only if the file asks for it (transformers' update_post_processor). */
    static ObjectNode postProcessor(GgufVocab vocab) {
        String bos = vocab.addBosToken() && vocab.bosTokenId() >= 0 ? vocab.tokens().get(vocab.bosTokenId()) : null;
        String eos = vocab.addEosToken() && vocab.eosTokenId() >= 0 ? vocab.tokens().get(vocab.eosTokenId()) : null;
        ObjectNode p = JSON.objectNode();
        p.put("type", "TemplateProcessing");
        ArrayNode single = p.putArray("single");
        ArrayNode pair = p.putArray("pair");
        for (int typeId = 0; typeId <= 1; typeId++) {
            ArrayNode[] targets = typeId == 0 ? new ArrayNode[] {single, pair} : new ArrayNode[] {pair};
            for (ArrayNode target : targets) {
                if (bos != null) {
                    target.addObject().putObject("SpecialToken").put("id", bos).put("type_id", typeId);
                }
                target.addObject().putObject("Sequence").put("id", typeId == 0 ? "A" : "B").put("type_id", typeId);
                if (eos != null) {
                    target.addObject().putObject("SpecialToken").put("id", eos).put("type_id", typeId);
                }
            }
        }
        ObjectNode specials = p.putObject("special_tokens");
        Map<String, Integer> used = new HashMap<>();
        if (bos != null) used.put(bos, vocab.bosTokenId());
        if (eos != null) used.put(eos, vocab.eosTokenId());
        used.forEach((content, id) -> {
            ObjectNode s = specials.putObject(content);
            s.put("id", content);
            s.putArray("ids").add(id);
            s.putArray("tokens").add(content);
        });
        return p;
    }

    /**
     * The BPE model. When two ids share a spelling the later id wins, as in transformers' vocabulary dict.
     */
    private static ObjectNode bpeModel(List<String> spelled, List<String> merges) {
        ObjectNode m = JSON.objectNode();
        m.put("type", "BPE");
        m.putNull("dropout");
        m.putNull("unk_token");
        m.put("continuing_subword_prefix", "");
        m.put("end_of_word_suffix", "");
        m.put("fuse_unk", false);
        m.put("byte_fallback", false);
        m.put("ignore_merges", false);
        ObjectNode v = m.putObject("vocab");
        for (int id = 0; id < spelled.size(); id++) {
            v.put(spelled.get(id), id);
        }
        ArrayNode mergeList = m.putArray("merges");
        for (int i = 0; i < merges.size(); i++) {
            String merge = merges.get(i);
            int space = merge.indexOf(' ');
            if (space <= 0 || space == merge.length() - 1 || merge.indexOf(' ', space + 1) >= 0) {
                throw new PrunelabException.Tokenizer("The model's tokenizer merge #" + i + " ('" + merge
                        + "') is not two tokens separated by one space, as tokenizer.ggml.merges requires;"
                        + " the GGUF file's tokenizer data is corrupt. Re-export the model, or use its tokenizer.json.");
            }
            mergeList.addArray().add(merge.substring(0, space)).add(merge.substring(space + 1));
        }
        return m;
    }

    /**
     * GPT-2's byte-to-character table ({@code bytes_to_unicode} in OpenAI's GPT-2 encoder.py): printable
     * Latin-1 bytes stand for themselves, the other 68 bytes map to U+0100 onwards, so every byte string has
     * a printable spelling (a space is "Ġ", a newline "Ċ").
     */
    static final class ByteLevelAlphabet {
        private static final char[] BYTE_TO_CHAR = new char[256];
        private static final boolean[] IN_ALPHABET = new boolean[512];

        static {
            int next = 256;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                BYTE_TO_CHAR[b] = (char) (printable ? b : next++);
                IN_ALPHABET[BYTE_TO_CHAR[b]] = true;
            }
        }

        private ByteLevelAlphabet() {}

        static boolean contains(String token) {
            for (int i = 0; i < token.length(); i++) {
                char c = token.charAt(i);
                if (c >= IN_ALPHABET.length || !IN_ALPHABET[c]) {
                    return false;
                }
            }
            return true;
        }

        static String spell(String text) {
            StringBuilder sb = new StringBuilder();
            for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
                sb.append(BYTE_TO_CHAR[b & 0xFF]);
            }
            return sb.toString();
        }
    }
}
