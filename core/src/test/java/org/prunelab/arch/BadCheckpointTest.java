package org.prunelab.arch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A checkpoint folder (the tiny Qwen2 transformers wrote, {@code fixtures/tiny-qwen2/hf}) with one thing broken in its
 * {@code config.json}: each is refused with a {@link PrunelabException.ModelFormat} that says what is wrong and what
 * to do, when the header is read, before any weights are.
 */
class BadCheckpointTest {
    private static final Path GOOD = Path.of("src/test/resources/fixtures/tiny-qwen2/hf");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A copy of the good folder whose config.json {@code edit} changed. */
    private Path broken(Consumer<ObjectNode> edit) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        try (var files = Files.list(GOOD)) {
            for (Path f : files.toList()) Files.copy(f, dir.resolve(f.getFileName()));
        }
        ObjectNode config = (ObjectNode) JSON.readTree(dir.resolve("config.json").toFile());
        edit.accept(config);
        JSON.writeValue(dir.resolve("config.json").toFile(), config);
        return dir;
    }

    private static void load(Path dir) {
        ModelLoader.load(dir.toString(), new PrunelabHome(dir.resolve("no-cache"))).close();
    }

    @Test
    void theUnbrokenFolderLoads() throws IOException {
        load(broken(c -> {}));
        // The header check passes good files of both formats (GGUF dimensions come innermost first).
        ModelLoader.inspect(GOOD.toString(), new PrunelabHome(tmp));
        ModelLoader.inspect(GOOD.resolveSibling("tiny-qwen2.f32.gguf").toString(), new PrunelabHome(tmp));
        ModelLoader.inspect(Path.of("src/test/resources/fixtures/tiny-qwen3/tiny-qwen3.f32.gguf").toString(), new PrunelabHome(tmp));
    }

    @Test
    void anUnknownModelTypeListsTheSupportedOnes() throws IOException {
        Path dir = broken(c -> c.put("model_type", "gpt_neox"));
        assertThatThrownBy(() -> load(dir)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("model_type 'gpt_neox'")
                .hasMessageContaining("supported model_type values: llama, mistral, qwen2, qwen3, gemma3_text");
        assertThatThrownBy(() -> ModelLoader.inspect(dir.toString(), new PrunelabHome(tmp)))
                .isInstanceOf(PrunelabException.ModelFormat.class).hasMessageContaining("gpt_neox");
    }

    @Test
    void aConfigThatDisagreesWithTheTensorsNamesTheTensorAndBothShapes() throws IOException {
        Path dir = broken(c -> c.put("intermediate_size", 80)); // the tensors are 64 wide
        // From the safetensors header, before any weight is read (what every run's plan does first) ...
        assertThatThrownBy(() -> ModelLoader.inspect(dir.toString(), new PrunelabHome(tmp)))
                .isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("model.layers.0.mlp.gate_proj.weight has shape [64, 32] but the config implies [80, 32]");
        // ... and when loading.
        assertThatThrownBy(() -> load(dir)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("model.layers.0.mlp.gate_proj.weight")
                .hasMessageContaining("[64, 32]").hasMessageContaining("[80, 32]")
                .hasMessageContaining("config and weights do not belong together");
    }

    /** Blocks past num_hidden_layers would be ignored silently (the model computing nonsense), so they are refused. */
    @Test
    void fewerLayersInTheConfigThanInTheCheckpointAreRefused() throws IOException {
        Path dir = broken(c -> {
            c.put("num_hidden_layers", 1); // the checkpoint has 2
            c.remove("layer_types");
            c.put("max_window_layers", 1);
        });
        assertThatThrownBy(() -> load(dir)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("more blocks than num_hidden_layers (1)")
                .hasMessageContaining("model.layers.1.self_attn.q_proj.weight");
    }

    @Test
    void headsThatDoNotDivideIntoKeyValueGroupsAreRefused() throws IOException {
        Path dir = broken(c -> c.put("num_key_value_heads", 3)); // 4 query heads
        assertThatThrownBy(() -> load(dir)).isInstanceOf(PrunelabException.ModelFormat.class)
                .hasMessageContaining("num_attention_heads (4) must be a positive multiple of num_key_value_heads (3)");
    }
}
