package org.prunelab.data;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.prunelab.PrunelabException;
import org.prunelab.io.GgufVocab;
import org.prunelab.io.TokenizerJsonBuilder;

/**
 * Text to token ids and back, for one model: a Hugging Face {@code tokenizer.json} run by the Rust
 * {@code tokenizers} library through DJL ({@code ai.djl.huggingface:tokenizers}).
 *
 * <p>{@link #encode} is the raw tokenizer: it adds no special tokens (no BOS), never truncates and never
 * pads, so a whole corpus comes back whole. DJL's defaults do the opposite (BOS added, truncation at 512
 * tokens), so they are switched off explicitly. Callers that want a BOS in front of a window add
 * {@link #bosTokenId()} themselves where {@link #addBosToken()} says the model expects one.
 *
 * <p>Holds native memory: close it when done. The Rust library is DJL's bundled {@code tokenizers}
 * (0.21.0 in DJL 0.36.0), extracted from the jar into {@code ~/.djl.ai/tokenizers} on first use; no network.
 */
public final class Tokenizer implements AutoCloseable {
    static {
        // DJL "calls home" when a tokenizer is created (ai.djl.util.Ec2Utils.callHome: an HTTP request to the EC2
        // metadata address 169.254.169.254, found by fuzzing with Jazzer's SSRF detector). prunelab makes no network
        // request a user did not ask for; the tokenizer library is in the jar, so DJL has nothing to fetch either.
        if (System.getProperty("OPT_OUT_TRACKING") == null) System.setProperty("OPT_OUT_TRACKING", "true");
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** DJL options: the raw tokenizer, nothing added or cut. */
    private static final Map<String, String> RAW = Map.of(
            "addSpecialTokens", "false", "truncation", "false", "padding", "false");

    private final HuggingFaceTokenizer tokenizer;
    private final byte[] tokenizerJson;
    private final int vocabSize;
    private final Integer bosTokenId;
    private final boolean addBosToken;

    private Tokenizer(byte[] tokenizerJson, JsonNode root, String source, Integer bosTokenId, boolean addBosToken) {
        this.tokenizerJson = tokenizerJson;
        this.vocabSize = vocabSize(root);
        this.bosTokenId = bosTokenId;
        this.addBosToken = addBosToken;
        try {
            this.tokenizer = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(tokenizerJson), RAW);
        } catch (IOException | RuntimeException e) {
            throw new PrunelabException.Tokenizer("The tokenizer in " + source + " could not be loaded: "
                    + e.getMessage() + ". Check that it is a Hugging Face tokenizer.json (as written by "
                    + "tokenizers' Tokenizer.save or transformers' save_pretrained).", e);
        }
    }

    /**
     * The tokenizer a GGUF file describes, built by {@link TokenizerJsonBuilder}.
     *
     * @throws PrunelabException.Tokenizer if that vocabulary cannot be turned into a tokenizer
     */
    public static Tokenizer fromGgufVocab(GgufVocab vocab) {
        ObjectNode root = TokenizerJsonBuilder.build(vocab);
        byte[] json;
        try {
            json = MAPPER.writeValueAsBytes(root); // UTF-8; the tree is used as is, not parsed back
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a JSON tree we built", e);
        }
        Integer bos = vocab.bosTokenId() >= 0 ? vocab.bosTokenId() : null;
        String source = "the GGUF vocabulary (" + vocab.model() + "/" + vocab.pre() + ")";
        return new Tokenizer(json, root, source, bos, vocab.addBosToken() && bos != null);
    }

    /**
     * A tokenizer from a Hugging Face {@code tokenizer.json} file. Such a file names a BOS only through its
     * post-processor, so {@link #bosTokenId()} is present only if that adds one.
     *
     * @throws PrunelabException.Tokenizer if the file cannot be read or is not a tokenizer.json
     */
    public static Tokenizer fromTokenizerJson(Path path) {
        byte[] json;
        try {
            json = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new PrunelabException.Tokenizer("Cannot read the tokenizer file " + path + " (" + e
                    + "). Give the path of a readable tokenizer.json.", e);
        }
        JsonNode root = parse(json, path.toString());
        Integer bos = postProcessorBos(root);
        return new Tokenizer(json, root, path.toString(), bos, bos != null);
    }

    /**
     * The token ids of {@code text}: no special tokens added, no truncation, no padding. Special tokens
     * written in the text (e.g. "&lt;|im_end|&gt;") are matched whole.
     *
     * @return ids in [0, {@link #vocabSize()}), one per token, in text order; empty for ""
     */
    public int[] encode(String text) {
        long[] ids;
        try {
            ids = tokenizer.encode(text, false, false).getIds();
        } catch (RuntimeException e) { // the Rust library's errors (e.g. an unknown token the vocabulary lacks)
            throw new PrunelabException.Tokenizer("The tokenizer could not encode the text: " + e.getMessage()
                    + ". Its tokenizer data is inconsistent; use the model's own tokenizer.json.", e);
        }
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= vocabSize) { // a tokenizer.json whose added tokens the library renumbered
                throw new PrunelabException.Tokenizer("The tokenizer gave id " + ids[i] + " for \"" + abbreviate(text)
                        + "\", outside its vocabulary of " + vocabSize + " tokens; its tokenizer data is inconsistent"
                        + " (an added token that is not in the vocabulary). Use the model's own tokenizer.json.");
            }
            out[i] = (int) ids[i];
        }
        return out;
    }

    private static String abbreviate(String text) {
        return text.length() <= 40 ? text : text.substring(0, 40) + "...";
    }

    /**
     * The ids of {@code text} as the reference pipelines get them from the model's Hugging Face tokenizer called with
     * its defaults (REFERENCE.md, evaluation protocol): {@link #encode} with one BOS in front where {@link #addBosToken}
     * says the model expects it (Gemma, Llama 2: GGUF {@code add_bos_token}), nothing added otherwise (SmolLM2). A
     * corpus tokenised this way as one stream has the BOS at its very start only.
     */
    public int[] encodeWithDefaults(String text) {
        int[] ids = encode(text);
        if (!addBosToken || bosTokenId == null) return ids;
        int[] out = new int[ids.length + 1];
        out[0] = bosTokenId;
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }

    /**
     * The text of {@code ids}, special tokens included. Ids that end inside a multi-byte UTF-8 character
     * decode to U+FFFD for the incomplete bytes, as in transformers.
     */
    public String decode(int[] ids) {
        long[] longs = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            longs[i] = ids[i];
        }
        return tokenizer.decode(longs, false);
    }

    /** The number of ids: the model vocabulary plus added tokens that are not in it. */
    public int vocabSize() {
        return vocabSize;
    }

    /** The beginning-of-sequence token's id, if the tokenizer names one. {@link #encode} never adds it. */
    public Optional<Integer> bosTokenId() {
        return Optional.ofNullable(bosTokenId);
    }

    /** Whether the model expects its BOS in front of a sequence (GGUF {@code add_bos_token}). */
    public boolean addBosToken() {
        return addBosToken;
    }

    /**
     * Writes this tokenizer as a {@code tokenizer.json} to {@code target}, atomically (a temporary file in
     * the same folder, then a rename), so a reader never sees half a file.
     *
     * @throws PrunelabException.Tokenizer if the file cannot be written
     */
    public void writeTokenizerJson(Path target) {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, target.getFileName().toString(), ".tmp");
            Files.write(tmp, tokenizerJson);
            try {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the original error is the one worth reporting
                }
            }
            throw new PrunelabException.Tokenizer("Cannot write the tokenizer to " + target + " (" + e
                    + "). Check that the folder is writable and the disk is not full.", e);
        }
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    private static JsonNode parse(byte[] json, String source) {
        try {
            JsonNode root = MAPPER.readTree(json);
            if (root == null || !root.path("model").isObject()) {
                throw new PrunelabException.Tokenizer("The tokenizer in " + source + " has no \"model\" section, "
                        + "so it is not a Hugging Face tokenizer.json. Give the tokenizer.json file of the model.");
            }
            return root;
        } catch (JsonProcessingException e) {
            throw new PrunelabException.Tokenizer("The tokenizer in " + source + " is not valid JSON ("
                    + e.getOriginalMessage() + "). Give the tokenizer.json file of the model.", e);
        } catch (IOException e) {
            throw new UncheckedIOException("reading JSON from memory", e);
        }
    }

    private static int vocabSize(JsonNode root) {
        JsonNode vocab = root.path("model").path("vocab");
        // BPE and WordPiece map token -> id; Unigram lists [token, score] pairs in id order.
        int size = 0;
        if (vocab.isArray()) {
            size = vocab.size();
        } else {
            for (JsonNode id : vocab) {
                size = Math.max(size, id.asInt() + 1);
            }
        }
        for (JsonNode added : root.path("added_tokens")) {
            size = Math.max(size, added.path("id").asInt() + 1);
        }
        return size;
    }

    /** The id of a special token the post-processor puts before the first sequence, or null. */
    private static Integer postProcessorBos(JsonNode root) {
        JsonNode first = root.path("post_processor").path("single").path(0).path("SpecialToken");
        if (first.isMissingNode()) {
            return null;
        }
        JsonNode ids = root.path("post_processor").path("special_tokens").path(first.path("id").asText()).path("ids");
        return ids.size() == 1 ? ids.get(0).asInt() : null;
    }
}
