package org.prunelab.track;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.prunelab.PrunelabException;

import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class OutboxTest {

    @TempDir
    Path dir;

    private static List<OutboxRecord> oneOfEach() {
        return List.of(
                new OutboxRecord.StartRun("k1", "tradeoff", "sweep", null, null, null, 1000L,
                        Map.of(MlflowNames.RUN_KEY_TAG, "k1", "jdk.version", "25")),
                new OutboxRecord.StartRun("k2", "tradeoff", "point \"ä\"\nnext", "abc", "k1", "def", 1001L, Map.of()),
                new OutboxRecord.LogParams("k2", Map.of("method", "wanda", "sparsity", "0.5")),
                new OutboxRecord.LogMetrics("k2", List.of(new MetricPoint("perplexity", 23.25, 1002L, 0),
                        new MetricPoint("ppl_ratio", Double.NaN, 1003L, 7),
                        new MetricPoint("speedup_decode", Double.POSITIVE_INFINITY, 1004L, 0))),
                new OutboxRecord.SetTags("k2", Map.of("note", "x")),
                new OutboxRecord.LogArtifact("k2", "staged/u/table.csv", "tables"),
                new OutboxRecord.LogArtifact("k2", "staged/v/plot.png", null),
                new OutboxRecord.EndRun("k2", RunStatus.FAILED, 1005L));
    }

    @Test
    void everyRecordKindRoundTripsThroughOneJsonLineEach() {
        List<OutboxRecord> records = oneOfEach();
        try (Outbox outbox = Outbox.open(dir)) {
            records.forEach(outbox::append);
            List<String> lines = readLines(outbox.file());
            assertThat(lines).hasSize(records.size());
            assertThat(lines.get(0)).contains("\"op\":\"start_run\"");
            assertThat(Outbox.read(outbox.file())).isEqualTo(records);
        }
    }

    @Test
    void eachAppendIsForcedToDiskBeforeItReturnsAndIsReadableAtOnce() {
        try (Outbox outbox = Outbox.open(dir)) {
            List<OutboxRecord> records = oneOfEach();
            for (int i = 0; i < records.size(); i++) {
                outbox.append(records.get(i));
                assertThat(outbox.forceCount()).isEqualTo(i + 1);
                // Another reader sees the record while the writer is still open.
                assertThat(Outbox.read(outbox.file())).hasSize(i + 1).last().isEqualTo(records.get(i));
            }
        }
    }

    @Test
    void aTornLastLineFromACrashIsDropped() throws Exception {
        Path file;
        try (Outbox outbox = Outbox.open(dir)) {
            outbox.append(oneOfEach().get(0));
            outbox.append(oneOfEach().get(2));
            file = outbox.file();
        }
        String whole = Outbox.toJson(oneOfEach().get(3));
        for (int cut = 1; cut <= whole.length(); cut++) {
            Path torn = dir.resolve("torn-" + cut + Outbox.SUFFIX);
            Files.copy(file, torn);
            // A crash mid-write leaves a prefix of the line, without its newline (even all of it).
            Files.writeString(torn, whole.substring(0, cut), StandardOpenOption.APPEND);
            assertThat(Outbox.read(torn)).as("cut at %d", cut).containsExactly(oneOfEach().get(0), oneOfEach().get(2));
        }
    }

    @Test
    void aBrokenCompleteLineIsAnErrorThatNamesTheLine() throws Exception {
        Path file = dir.resolve("x" + Outbox.SUFFIX);
        Files.writeString(file, Outbox.toJson(oneOfEach().get(0)) + "\n{\"op\":\"log_par\n"
                + Outbox.toJson(oneOfEach().get(2)) + "\n");
        assertThatThrownBy(() -> Outbox.read(file)).isInstanceOf(PrunelabException.class)
                .hasMessageContaining("line 2").hasMessageContaining(file.toString());
    }

    @Test
    void theCursorIsReplacedWholeAndStartsAtZero() {
        Path file = dir.resolve("a" + Outbox.SUFFIX);
        assertThat(Outbox.readCursor(file)).isZero();
        Outbox.writeCursor(file, 3);
        Outbox.writeCursor(file, 17);
        assertThat(Outbox.readCursor(file)).isEqualTo(17);
        assertThat(dir.toFile().list()).containsExactly("a" + Outbox.SUFFIX + Outbox.CURSOR_SUFFIX);
    }

    @Test
    void aStagedArtifactOutlivesItsOriginal() throws Exception {
        Path original = Files.writeString(dir.resolve("table.csv"), "method,ppl\nwanda,23.1\n");
        try (Outbox outbox = Outbox.open(dir.resolve("outbox"))) {
            String staged = outbox.stageArtifact(original);
            Files.delete(original);
            assertThat(staged).startsWith(Outbox.STAGED_DIR + "/").endsWith("/table.csv");
            assertThat(Files.readString(outbox.dir().resolve(staged))).isEqualTo("method,ppl\nwanda,23.1\n");
        }
    }

    @Test
    void theWriterHoldsItsFileLockedUntilClosed() throws Exception {
        Outbox outbox = Outbox.open(dir);
        outbox.append(oneOfEach().get(0));
        Path file = outbox.file();
        try (FileChannel other = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertThatThrownBy(other::tryLock).isInstanceOf(OverlappingFileLockException.class);
            outbox.close();
            assertThat(other.tryLock()).isNotNull();
        }
        assertThat(Outbox.files(dir)).containsExactly(file);
    }

    @Test
    void nothingIsCreatedUntilTheFirstAppend() {
        try (Outbox outbox = Outbox.open(dir.resolve("outbox"))) {
            assertThat(outbox.file()).isNull();
            assertThat(Outbox.files(outbox.dir())).isEmpty();
        }
    }

    private static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
