package org.prunelab.io;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The tokenizer.json of a SentencePiece BPE vocabulary ({@code tokenizer.ggml.model = "llama"}) of the Gemma
 * family (architectures gemma, gemma2, gemma3), as transformers builds it from the GGUF
 * ({@code gemma_tokenizer} and {@code add_gguf_special_tokens} in
 * {@code transformers/integrations/gguf/gguf_tokenizer_mapping.py}, then {@code GemmaTokenizer}):
 *
 * <ul>
 *   <li>a token made only of whitespace that holds a space ("  ") is respelled as that many U+2581 ("▁▁"),
 *       the character the normalizer writes for a space;</li>
 *   <li>the file has no merges, so they are derived from the vocabulary: every way of cutting a token into
 *       two tokens of the vocabulary is a merge, ranked by the token's position in the file (earlier first),
 *       and for one token the longer left piece first ({@code generate_merges} with the negated position
 *       as score); Gemma's scores do not follow its merge order, its positions do;</li>
 *   <li>a BPE model with byte fallback ({@code <0x41>} tokens for bytes no token covers) and fused unknowns;
 *       normalizer: space to "▁"; pre-tokenizer: split on " " merged with the previous piece (after the
 *       normalizer there is no space left, so it cuts nothing); decoder: "▁" to space, byte fallback, fuse;</li>
 *   <li>control tokens are special added tokens; user-defined tokens whose text is in the vocabulary as
 *       spelled are plain added tokens (the whitespace ones, respelled, are not, as in transformers).</li>
 * </ul>
 *
 * <p>The derivation is linear in the vocabulary's total length: 262,144 tokens give about 515,000 merges.
 */
final class SentencePieceBpeJson {
    private SentencePieceBpeJson() {}

    /** {@code general.architecture} values whose "llama" vocabulary is built the Gemma way. */
    static final Set<String> GEMMA_ARCHITECTURES = Set.of("gemma", "gemma2", "gemma3");

    private static final char SPACE_MARK = '\u2581';
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /** The tokenizer.json tree for a Gemma-family vocabulary; sections in the order transformers writes them. */
    static ObjectNode build(GgufVocab vocab) {
        List<String> spelled = respellSpaceTokens(vocab.tokens());
        Map<String, Integer> ids = idsBySpelling(spelled);
        ObjectNode root = JSON.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        root.set("added_tokens", addedTokens(vocab, ids));
        ObjectNode normalizer = root.putObject("normalizer");
        normalizer.put("type", "Replace");
        normalizer.putObject("pattern").put("String", " ");
        normalizer.put("content", String.valueOf(SPACE_MARK));
        ObjectNode pre = root.putObject("pre_tokenizer");
        pre.put("type", "Split");
        pre.putObject("pattern").put("String", " ");
        pre.put("behavior", "MergedWithPrevious");
        pre.put("invert", false);
        root.set("post_processor", TokenizerJsonBuilder.postProcessor(vocab));
        root.set("decoder", decoder());
        root.set("model", bpeModel(vocab, spelled, ids));
        return root;
    }

    /**
     * Tokens that contain a space and nothing but whitespace become as many "▁" as they have characters
     * (transformers: {@code " " in t and not t.strip()}, Python's notion of whitespace).
     */
    static List<String> respellSpaceTokens(List<String> tokens) {
        List<String> out = new ArrayList<>(tokens.size());
        for (String token : tokens) {
            out.add(token.indexOf(' ') >= 0 && allPythonWhitespace(token)
                    ? String.valueOf(SPACE_MARK).repeat(token.codePointCount(0, token.length()))
                    : token);
        }
        return out;
    }

    /** Python's {@code str.isspace} for every character (the set {@code str.strip()} removes). */
    private static boolean allPythonWhitespace(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean space = (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0
                    || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F
                    || c == 0x205F || c == 0x3000;
            if (!space) {
                return false;
            }
        }
        return true;
    }

    /** Spelling to id; when two ids share a spelling the later wins, as in a Python dict built in id order. */
    private static Map<String, Integer> idsBySpelling(List<String> spelled) {
        Map<String, Integer> ids = HashMap.newHashMap(spelled.size());
        for (int id = 0; id < spelled.size(); id++) {
            ids.put(spelled.get(id), id);
        }
        return ids;
    }

    /**
     * The merges the vocabulary implies, best first, as (left, right) pairs: tokens in id order (a spelling
     * shared by several ids at its last id), and for each token its cuts into two vocabulary tokens from the
     * longest left piece to the shortest. Cuts fall between code points, as Python slices strings.
     */
    static List<String[]> deriveMerges(List<String> spelled, Map<String, Integer> ids) {
        List<String[]> merges = new ArrayList<>(spelled.size() * 2);
        for (int id = 0; id < spelled.size(); id++) {
            String token = spelled.get(id);
            if (ids.get(token) != id || token.length() < 2) {
                continue;
            }
            for (int cut = token.offsetByCodePoints(token.length(), -1); cut > 0;
                    cut = token.offsetByCodePoints(cut, -1)) {
                String left = token.substring(0, cut);
                if (ids.containsKey(left)) {
                    String right = token.substring(cut);
                    if (ids.containsKey(right)) {
                        merges.add(new String[] {left, right});
                    }
                }
            }
        }
        return merges;
    }

    /**
     * Control tokens (special), then user-defined tokens found in the vocabulary as spelled (not special);
     * the BOS/EOS/UNK/PAD tokens are special too. Listed by id with their text as the file stores it.
     */
    private static ArrayNode addedTokens(GgufVocab vocab, Map<String, Integer> ids) {
        Map<Integer, Boolean> added = new TreeMap<>(); // id -> special
        for (int id = 0; id < vocab.tokens().size(); id++) {
            int type = vocab.tokenType(id);
            if (type == GgufVocab.TYPE_CONTROL) {
                added.put(id, true);
            } else if (type == GgufVocab.TYPE_USER_DEFINED && ids.containsKey(vocab.tokens().get(id))) {
                added.put(id, false);
            }
        }
        for (int id : new int[] {vocab.bosTokenId(), vocab.eosTokenId(), vocab.unkTokenId(), vocab.padTokenId()}) {
            if (id >= 0) {
                added.put(id, true);
            }
        }
        // The tokenizers library gives an added token the model's id only when its text is a key of the model's
        // vocabulary; any other text gets a new id past the vocabulary (a control token spelled with spaces, which the
        // vocabulary holds as "▁", came out as id N for N tokens: found by fuzzing). Such a token is left out.
        added.keySet().removeIf(id -> !Integer.valueOf(id).equals(ids.get(vocab.tokens().get(id))));
        ArrayNode list = JSON.arrayNode();
        added.forEach((id, special) -> TokenizerJsonBuilder.addedToken(list, id, vocab.tokens().get(id), special));
        return list;
    }

    private static ObjectNode decoder() {
        ObjectNode d = JSON.objectNode();
        d.put("type", "Sequence");
        ArrayNode steps = d.putArray("decoders");
        ObjectNode replace = steps.addObject();
        replace.put("type", "Replace");
        replace.putObject("pattern").put("String", String.valueOf(SPACE_MARK));
        replace.put("content", " ");
        steps.addObject().put("type", "ByteFallback");
        steps.addObject().put("type", "Fuse");
        return d;
    }

    /** BPE with byte fallback; unknown token: the file's, or GemmaTokenizer's default "&lt;unk&gt;". */
    private static ObjectNode bpeModel(GgufVocab vocab, List<String> spelled, Map<String, Integer> ids) {
        ObjectNode m = JSON.objectNode();
        m.put("type", "BPE");
        m.putNull("dropout");
        String unk = vocab.unkTokenId() >= 0 ? vocab.tokens().get(vocab.unkTokenId()) : "<unk>";
        // An unknown token the vocabulary lacks makes the tokenizers library fail on the first unknown byte; without
        // one, a byte no token covers is dropped (byte fallback covers every byte in real Gemma vocabularies).
        if (ids.containsKey(unk)) m.put("unk_token", unk); else m.putNull("unk_token");
        m.putNull("continuing_subword_prefix");
        m.putNull("end_of_word_suffix");
        m.put("fuse_unk", true);
        m.put("byte_fallback", true);
        m.put("ignore_merges", false);
        ObjectNode v = m.putObject("vocab");
        for (int id = 0; id < spelled.size(); id++) {
            v.put(spelled.get(id), id);
        }
        ArrayNode mergeList = m.putArray("merges");
        for (String[] merge : deriveMerges(spelled, ids)) {
            mergeList.addArray().add(merge[0]).add(merge[1]);
        }
        return m;
    }
}
