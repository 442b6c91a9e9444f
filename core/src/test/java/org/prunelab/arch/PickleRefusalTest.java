package org.prunelab.arch;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Never execute what a file says (issue 16): a checkpoint in PyTorch's pickle format is refused by name, before a
 * byte of it is read, with a message that names safetensors and GGUF; and no product code can deserialise Java
 * objects or pickles (a scan of every module's main sources for the APIs that do).
 */
class PickleRefusalTest {
    @TempDir
    Path tmp;

    /** A protocol-2 pickle that would call os.system("touch PWNED") when unpickled. */
    private static final byte[] EVIL_PICKLE = "\u0080\u0002cposix\nsystem\nq\u0000X\u000b\u0000\u0000\u0000touch PWNEDq\u0001\u0085q\u0002Rq\u0003."
            .getBytes(StandardCharsets.ISO_8859_1);

    private static final String CONFIG = "{\"model_type\": \"llama\", \"hidden_size\": 64, \"intermediate_size\": 128,"
            + " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"vocab_size\": 32}";

    private static void assertRefusedAsPickle(Path model) {
        PrunelabHome home = new PrunelabHome(model.getParent().resolve("home"));
        for (Runnable load : List.<Runnable>of(() -> ModelLoader.inspect(model.toString(), home),
                () -> ModelLoader.load(model.toString(), home))) {
            assertThatThrownBy(load::run)
                    .isInstanceOf(PrunelabException.ModelFormat.class)
                    .hasMessageContaining("pickle")
                    .hasMessageContaining("safetensors")
                    .hasMessageContaining("GGUF");
        }
    }

    @Test
    void aCheckpointFolderWithPytorchBinWeightsIsRefused() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("hf-model"));
        Files.writeString(dir.resolve("config.json"), CONFIG);
        Files.write(dir.resolve("pytorch_model.bin"), EVIL_PICKLE);
        assertRefusedAsPickle(dir);
        assertThat(tmp.resolve("PWNED")).doesNotExist();
    }

    @Test
    void aPtFileGivenAsTheModelIsRefused() throws IOException {
        Path pt = Files.write(tmp.resolve("model.pt"), EVIL_PICKLE);
        assertRefusedAsPickle(pt);
    }

    @Test
    void aGgufFileUnderAnOldBinNameIsStillReadAsGguf() throws IOException {
        Path bin = Files.write(tmp.resolve("model.bin"), "GGUF\u0003\u0000\u0000\u0000".getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> ModelLoader.inspect(bin.toString(), new PrunelabHome(tmp.resolve("home"))))
                .isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("truncated")
                .hasMessageNotContaining("pickle");
    }

    /** APIs that turn bytes into objects the bytes choose: Java serialisation, Jackson's polymorphic default typing. */
    private static final Pattern DESERIALISING = Pattern.compile(
            "ObjectInputStream|readObject\\s*\\(|readUnshared\\s*\\(|XMLDecoder|enableDefaultTyping|activateDefaultTyping"
                    + "|JsonTypeInfo\\.Id\\.CLASS|JsonTypeInfo\\.Id\\.MINIMAL_CLASS|new\\s+Yaml\\s*\\(|SerializationUtils");

    @Test
    void noProductCodeDeserialisesObjectsFromFiles() throws IOException {
        Path root = Path.of(System.getProperty("prunelab.root", ".."));
        List<String> hits = new ArrayList<>();
        int scanned = 0;
        for (String module : List.of("core", "experiments", "kernel", "jmh")) {
            Path src = root.resolve(module).resolve("src/main/java");
            if (!Files.isDirectory(src)) continue;
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    scanned++;
                    List<String> lines = Files.readAllLines(f);
                    for (int i = 0; i < lines.size(); i++) {
                        if (DESERIALISING.matcher(lines.get(i)).find()) hits.add(root.relativize(f) + ":" + (i + 1) + ": " + lines.get(i).strip());
                    }
                }
            }
        }
        assertThat(scanned).as("main sources found under " + root).isGreaterThan(100);
        assertThat(hits).isEmpty();
    }
}
