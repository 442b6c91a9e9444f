package org.prunelab.track;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.fuzz.FuzzContract;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzz target for the MLflow outbox as {@code ./prunelab mlflow sync} reads it after a crash or a hand edit: the JSON
 * lines ({@link Outbox#read}) and their replay ({@link OutboxSync}) to a fake server. A bad file is reported as a
 * problem of the sync (the other files still go), never an exception; replay never reads or deletes anything
 * outside the outbox folder (a record's staged artifact path is the file's word, not a path to trust).
 * Contract: {@link FuzzContract}; inputs in {@code OutboxFuzzTestInputs/outboxFile/}.
 */
class OutboxFuzzTest {
    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void outboxFile(byte[] input) throws IOException {
        Path root = Files.createTempDirectory("prunelab-outbox-fuzz");
        try {
            Path outside = Files.createDirectories(root.resolve("outside"));
            Path keep = Files.writeString(outside.resolve("keep.txt"), "not the outbox's");
            // The outbox is laid out inside the parse: a sync deletes what it finishes, and the contract may run the
            // parse twice (see FuzzContract.check).
            FuzzContract.run(input.length, () -> {
                Path outbox = Files.createDirectories(root.resolve("mlruns/outbox"));
                Path staged = Files.createDirectories(outbox.resolve("staged/a"));
                Files.writeString(staged.resolve("report.json"), "{}");
                Path file = Files.write(outbox.resolve("20250101-000000-000-fuzz.jsonl"), input);
                Files.deleteIfExists(Outbox.cursorOf(file));
                try {
                    Outbox.read(file);
                } catch (org.prunelab.PrunelabException expected) {
                    assertThat(expected.getMessage()).isNotBlank();
                }
                SyncReport report = new OutboxSync(outbox, new FakeBackend()).run(null);
                assertThat(report.problems()).allSatisfy(p -> assertThat(p).isNotBlank());
            });
            assertThat(keep).as("sync touched a file outside the outbox").exists().hasContent("not the outbox's");
        } finally {
            deleteTree(root);
        }
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
