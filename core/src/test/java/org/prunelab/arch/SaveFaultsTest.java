package org.prunelab.arch;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;
import org.prunelab.faults.SmallFilesystem;
import org.prunelab.io.AtomicFiles;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.TinyLlama;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Saving a model when the disk fills up or the output folder is read-only (issue 16): a clean error, no partial folder
 * (neither the target nor a hidden {@code .NAME.partial-*} sibling), and the outputs already there untouched. The disk
 * is a loop-mounted ext4 of a few hundred KB, the read-only folder a read-only mount (root ignores permission bits);
 * both skip with the reason where they cannot be mounted ({@code tools/faults/run-disk-faults.sh} shows they ran).
 */
class SaveFaultsTest {
    @TempDir
    Path tmp;

    private static SmallFilesystem mountOrSkip(SmallFilesystem.Mount mount) {
        String why = SmallFilesystem.unavailable();
        Assumptions.assumeTrue(why == null, why);
        try {
            return mount.get();
        } catch (IOException e) {
            Assumptions.abort("cannot mount a file system here: " + e.getMessage());
            return null;
        }
    }

    private static Tokenizer tokenizer(Path dir) throws IOException {
        return Tokenizer.fromTokenizerJson(Files.writeString(dir.resolve("tokenizer.json"), PrunedModelWriterTest.MINIMAL_TOKENIZER));
    }

    /** Every file under {@code dir} with its SHA-256. */
    private static Map<String, String> hashes(Path dir) throws IOException, java.security.NoSuchAlgorithmException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) out.put(dir.relativize(f).toString(), java.util.HexFormat.of().formatHex(
                    java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
        }
        return out;
    }

    private static void noPartialLeft(Path parent, String name) throws IOException {
        try (Stream<Path> siblings = Files.list(parent)) {
            assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("." + name + "."));
        }
        assertThat(parent.resolve(name)).doesNotExist();
    }

    @Test
    @Timeout(600)
    void fullDiskDuringASaveLeavesNoPartialFolderAndTheOldOutputUntouched() throws Exception {
        try (SmallFilesystem fs = mountOrSkip(() -> SmallFilesystem.ext4(tmp, 768));
             Tokenizer tok = tokenizer(tmp)) {
            DecoderModel small = TinyLlama.model(TinyLlama.config(4, 2), 3);
            Path old = fs.root().resolve("old-model");
            PrunedModelWriter.write(old, small, tok, Map.of("prune_report.json", "{\"method\": \"old\"}\n"));
            Map<String, String> before = hashes(old);
            fs.fillLeaving(16 * 1024); // less than one model.safetensors of this model
            Path target = fs.root().resolve("new-model");
            assertThatThrownBy(() -> PrunedModelWriter.write(target, small, tok, Map.of("prune_report.json", "{}\n")))
                    .isInstanceOf(PrunelabException.class)
                    .hasMessageContaining("No space left on device")
                    .hasMessageContaining("the disk has room");
            noPartialLeft(fs.root(), "new-model");
            assertThat(hashes(old)).as("the model saved before").isEqualTo(before);

            // A single file replaced in place (config.json, a report): the old content stays whole.
            Path config = old.resolve("config.json");
            String text = Files.readString(config);
            assertThatThrownBy(() -> AtomicFiles.writeString(config, "x".repeat(64 * 1024)))
                    .isInstanceOf(PrunelabException.class).hasMessageContaining("No space left on device");
            assertThat(Files.readString(config)).isEqualTo(text);
            try (Stream<Path> left = Files.list(old)) {
                assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
            }
        }
    }

    @Test
    @Timeout(600)
    void aReadOnlyOutputFolderIsRefusedBeforeAnyWorkAndNothingIsWritten() throws IOException {
        try (SmallFilesystem ro = mountOrSkip(() -> SmallFilesystem.readOnly(tmp));
             Tokenizer tok = tokenizer(tmp)) {
            Path target = ro.root().resolve("pruned");
            assertThatThrownBy(() -> PrunedModelWriter.checkWritable(target))
                    .isInstanceOf(PrunelabException.class)
                    .hasMessageContaining("cannot be written")
                    .hasMessageContaining("Read-only file system")
                    .hasMessageContaining("Choose an out in a writable folder");
            assertThatThrownBy(() -> PrunedModelWriter.write(target, TinyLlama.model(TinyLlama.config(4, 2), 3), tok, Map.of()))
                    .isInstanceOf(PrunelabException.class).hasMessageContaining("cannot be written");
            try (Stream<Path> left = Files.list(ro.root())) {
                assertThat(left).isEmpty();
            }
        }
    }
}
