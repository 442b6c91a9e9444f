package org.prunelab.arch;

import org.prunelab.model.*;


import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.cache.PrunelabHome;
import org.prunelab.data.Tokenizer;
import org.prunelab.io.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A saved checkpoint directory reloads with identical logits; the directory appears whole or not at all. */
class PrunedModelWriterTest {

    @Test
    void savedModelReloadsWithIdenticalLogits(@TempDir Path tmp) throws Exception {
        DecoderModel model = TinyLlama.model(TinyLlama.config(4, 2), 3);
        // Zero a block of weights as pruning would, so the round trip carries zeros too.
        float[] q = ((DenseLinear) model.block(1).linear("q_proj")).weight().data();
        java.util.Arrays.fill(q, 0, q.length / 2, 0f);
        Path dir = tmp.resolve("pruned");
        try (Tokenizer tok = Tokenizer.fromTokenizerJson(Files.writeString(tmp.resolve("tokenizer.json"), MINIMAL_TOKENIZER))) {
            PrunedModelWriter.write(dir, model, tok, Map.of("prune_report.json", "{\"method\": \"test\"}\n"));
        }
        assertThat(dir.resolve("config.json")).exists();
        assertThat(dir.resolve("tokenizer.json")).exists();
        assertThat(dir.resolve("prune_report.json")).hasContent("{\"method\": \"test\"}");
        assertThat(Files.list(tmp).map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("pruned", "tokenizer.json");
        // Tied embeddings: no lm_head tensor, as save_pretrained writes it.
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(f.names()).contains("model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight",
                    "model.norm.weight").doesNotContain("lm_head.weight").hasSize(2 + 2 * 9);
        }
        int[] tokens = TinyLlama.tokens(12, 5);
        try (LoadedModel back = ModelLoader.load(dir.toString(), PrunelabHome.fromEnvironment())) {
            assertThat(back.model().logits(tokens)).isEqualTo(model.logits(tokens));
        }
    }

    @Test
    void refusesAnExistingDirectoryAndAnUnwritablePlace(@TempDir Path tmp) throws Exception {
        Path existing = Files.createDirectory(tmp.resolve("taken"));
        assertThatThrownBy(() -> PrunedModelWriter.checkWritable(existing))
                .isInstanceOf(PrunelabException.InvalidArgument.class).hasMessageContaining("already exists").hasMessageContaining("choose another out");
        Path file = Files.writeString(tmp.resolve("a-file"), "not a folder");
        assertThatThrownBy(() -> PrunedModelWriter.checkWritable(file.resolve("model")))
                .isInstanceOf(PrunelabException.class).hasMessageContaining("cannot be written").hasMessageContaining("writable");
    }

    @Test
    void aSaveRemovesPartialFoldersOfKilledSavesButNotOfRunningOnes(@TempDir Path tmp) throws Exception {
        Path target = tmp.resolve("pruned");
        // A process id that is not running: start a short-lived process and wait for it to end.
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Path stale = Files.createDirectory(tmp.resolve(".pruned.partial-" + gone.pid() + "-123"));
        Files.writeString(stale.resolve("model.safetensors"), "half a model");
        Path live = Files.createDirectory(tmp.resolve(".pruned.partial-" + ProcessHandle.current().pid() + "-456"));
        Path otherTarget = Files.createDirectory(tmp.resolve(".other.partial-" + gone.pid() + "-789"));
        Path oldStyle = Files.createDirectory(tmp.resolve(".pruned.partial-8234719823"));
        PrunedModelWriter.removeStalePartials(target);
        assertThat(stale).doesNotExist();
        assertThat(live).exists();
        assertThat(otherTarget).exists();
        assertThat(oldStyle).exists();
    }

    /** A two-letter BPE tokenizer.json (the model's vocabulary does not matter for saving and loading weights). */
    static final String MINIMAL_TOKENIZER = """
            {"version": "1.0", "added_tokens": [],
             "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
             "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
             "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}}
            """;
}
