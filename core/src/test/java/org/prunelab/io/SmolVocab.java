package org.prunelab.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real SmolLM2-135M-Instruct tokenizer vocabulary, for tests.
 *
 * <p>Interim body: reads a JSON dump of the GGUF's tokenizer metadata (made with the Python {@code gguf}
 * package) from {@code $PRUNELAB_SMOLLM2_VOCAB_JSON}, default {@code /work/scratch/tokdev/smollm2_vocab.json},
 * and skips the calling test when it is absent. To be replaced by reading
 * {@link org.prunelab.TestModels#smollm2Gguf()} with the GGUF reader.
 */
public final class SmolVocab {
    private SmolVocab() {}

    /** The vocabulary of SmolLM2-135M-Instruct; skips the calling test if the data is not available. */
    public static GgufVocab load() {
        String env = System.getenv("PRUNELAB_SMOLLM2_VOCAB_JSON");
        Path dump = Path.of(env != null && !env.isBlank() ? env : "/work/scratch/tokdev/smollm2_vocab.json");
        assumeTrue(Files.isRegularFile(dump), "SmolLM2 vocabulary dump not found at " + dump);
        try {
            JsonNode j = new ObjectMapper().readTree(dump.toFile());
            ObjectMapper m = new ObjectMapper();
            return new GgufVocab(j.get("model").asText(), j.get("pre").asText(),
                    m.convertValue(j.get("tokens"), m.getTypeFactory().constructCollectionType(List.class, String.class)),
                    m.convertValue(j.get("merges"), m.getTypeFactory().constructCollectionType(List.class, String.class)),
                    m.convertValue(j.get("tokenTypes"), int[].class),
                    j.get("bos").asInt(), j.get("eos").asInt(), j.get("unk").asInt(), j.get("pad").asInt(),
                    j.get("addBos").asBoolean(), j.get("addEos").asBoolean());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
