package org.prunelab.track;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Exactly-once replay against an in-memory server that can fail at any call, before or after the call
 * takes effect. The expected server content is what the same work produces with no failure at all.
 */
class OutboxSyncTest {

    @TempDir
    Path tmp;
    private Path artifact;
    private String expected;

    @BeforeEach
    void referenceRun() throws Exception {
        artifact = Files.writeString(tmp.resolve("table.csv"), "method,perplexity\nwanda,23.1\n");
        FakeBackend clean = new FakeBackend();
        try (Tracker tracker = online(clean, tmp.resolve("ref-outbox"))) {
            sweep(tracker, artifact);
        }
        expected = clean.snapshot();
        assertThat(expected).contains("point-1 parent=sweep").contains("tables/table.csv").contains("status=FINISHED");
        assertThat(Outbox.files(tmp.resolve("ref-outbox"))).isEmpty();
    }

    /** A parent run and two nested runs with params, metrics, a tag and an artifact. */
    static void sweep(Tracker tracker, Path artifact) {
        TrackedRun parent = tracker.startRun("tradeoff", "sweep");
        parent.logParam(MlflowNames.Param.MODEL, "smollm2-135m");
        for (int i = 0; i < 2; i++) {
            TrackedRun child = parent.startChild("point-" + i);
            child.logParams(Map.of(MlflowNames.Param.METHOD, "wanda", MlflowNames.Param.SPARSITY, 0.5 + i / 10.0));
            child.logMetric(MlflowNames.Metric.PERPLEXITY, 20 + i);
            child.logMetrics(Map.of(MlflowNames.Metric.PPL_RATIO, 1.1 + i, MlflowNames.Metric.ACTUAL_SPARSITY, 0.5));
            child.setTag("note", "p" + i);
            if (i == 1) {
                child.logArtifact(artifact, "tables");
            }
            child.end(RunStatus.FINISHED);
        }
        parent.end(RunStatus.FINISHED);
    }

    private static Tracker online(FakeBackend backend, Path outboxDir) {
        return new Tracker(backend, URI.create("http://fake"), Outbox.open(outboxDir), Map.of("ctx", "test"), null);
    }

    @Test
    void workDoneOfflineIsSentOnceAndASecondSyncSendsNothing() {
        Path outboxDir = tmp.resolve("outbox");
        try (Tracker tracker = Tracker.offline(outboxDir, Map.of("ctx", "test"), "test")) {
            sweep(tracker, artifact);
            assertThat(tracker.isOnline()).isFalse();
        }
        FakeBackend server = new FakeBackend();
        SyncReport first = new OutboxSync(outboxDir, server).run(null);
        assertThat(first.complete()).isTrue();
        assertThat(first.filesSynced()).isEqualTo(1);
        assertThat(server.snapshot()).isEqualTo(expected);

        SyncReport second = new OutboxSync(outboxDir, server).run(null);
        assertThat(second.recordsSent()).isZero();
        assertThat(server.snapshot()).isEqualTo(expected);
        assertThat(outboxDir.toFile().list()).containsExactly(Outbox.STAGED_DIR);
        assertThat(outboxDir.resolve(Outbox.STAGED_DIR).toFile().list()).isEmpty();
    }

    @Test
    void aServerLostAtAnyCallOfTheWorkEndsWithEveryRecordOnceAfterSync() {
        int calls = countCallsOfCleanRun();
        for (int failAt = 0; failAt < calls; failAt++) {
            for (boolean afterEffect : new boolean[]{false, true}) {
                String label = "fail at call " + failAt + (afterEffect ? " after it took effect" : " before");
                Path outboxDir = tmp.resolve("work-" + failAt + "-" + afterEffect);
                FakeBackend server = new FakeBackend();
                server.failAt(failAt, afterEffect);
                try (Tracker tracker = online(server, outboxDir)) {
                    sweep(tracker, artifact);
                    assertThat(tracker.isOnline()).as(label).isFalse();
                }
                server.up();
                SyncReport report = new OutboxSync(outboxDir, server).run(null);
                assertThat(report.complete()).as(label).isTrue();
                assertThat(server.snapshot()).as(label).isEqualTo(expected);
                assertThat(new OutboxSync(outboxDir, server).run(null).recordsSent()).as(label).isZero();
            }
        }
    }

    @Test
    void aSyncThatDiesAtAnyCallIsFinishedByTheNextWithoutDuplicates() {
        Path template = tmp.resolve("offline-template");
        try (Tracker tracker = Tracker.offline(template, Map.of("ctx", "test"), "test")) {
            sweep(tracker, artifact);
        }
        int calls = countCallsOfCleanSync(template);
        for (int failAt = 0; failAt < calls; failAt++) {
            for (boolean afterEffect : new boolean[]{false, true}) {
                String label = "sync fails at call " + failAt + (afterEffect ? " after it took effect" : " before");
                Path outboxDir = copyTree(template, tmp.resolve("sync-" + failAt + "-" + afterEffect));
                FakeBackend server = new FakeBackend();
                server.failAt(failAt, afterEffect);
                assertThatThrownBy(() -> new OutboxSync(outboxDir, server).run(null)).as(label)
                        .isInstanceOf(TrackingUnavailableException.class);
                server.up();
                assertThat(new OutboxSync(outboxDir, server).run(null).complete()).as(label).isTrue();
                assertThat(server.snapshot()).as(label).isEqualTo(expected);
            }
        }
    }

    @Test
    void aFileStillBeingWrittenIsLeftForLater() {
        Path outboxDir = tmp.resolve("outbox");
        FakeBackend server = new FakeBackend();
        try (Tracker writer = Tracker.offline(outboxDir, Map.of(), "test")) {
            writer.startRun("tradeoff", "live").logMetric(MlflowNames.Metric.PERPLEXITY, 1.0);
            SyncReport report = new OutboxSync(outboxDir, server).run(null);
            assertThat(report.filesBusy()).isEqualTo(1);
            assertThat(report.recordsSent()).isZero();
            assertThat(server.runs).isEmpty();
        }
        assertThat(new OutboxSync(outboxDir, server).run(null).recordsSent()).isEqualTo(2);
        assertThat(server.runs.values()).singleElement().satisfies(r -> assertThat(r.metrics).hasSize(1));
    }

    @Test
    void aTrackerSyncsTheOutboxWhenItComesOnline() {
        Path outboxDir = tmp.resolve("outbox");
        try (Tracker offline = Tracker.offline(outboxDir, Map.of("ctx", "test"), "test")) {
            sweep(offline, artifact);
        }
        FakeBackend server = new FakeBackend();
        try (Tracker tracker = online(server, outboxDir)) {
            SyncReport report = tracker.sync();
            assertThat(report.complete()).isTrue();
            assertThat(report.filesSynced()).isEqualTo(1);
            assertThat(tracker.lastSync()).contains(report);
        }
        assertThat(server.snapshot()).isEqualTo(expected);
    }

    @Test
    void recordsOfATornLastLineAreTheOnlyOnesNotSent() throws Exception {
        Path outboxDir = tmp.resolve("outbox");
        Path file;
        try (Outbox outbox = Outbox.open(outboxDir)) {
            outbox.append(new OutboxRecord.StartRun("k", "tradeoff", "r", null, null, null, 1L,
                    Map.of(MlflowNames.RUN_KEY_TAG, "k")));
            outbox.append(new OutboxRecord.LogParams("k", Map.of("seed", "0")));
            file = outbox.file();
        }
        Files.writeString(file, "{\"op\":\"log_metrics\",\"runKey\":\"k\",\"metr", java.nio.file.StandardOpenOption.APPEND);
        FakeBackend server = new FakeBackend();
        assertThat(new OutboxSync(outboxDir, server).run(null).recordsSent()).isEqualTo(2);
        assertThat(server.runs.values()).singleElement().satisfies(r -> {
            assertThat(r.params).containsEntry("seed", "0");
            assertThat(r.metrics).isEmpty();
        });
    }

    private int countCallsOfCleanRun() {
        FakeBackend server = new FakeBackend();
        try (Tracker tracker = online(server, tmp.resolve("count-outbox"))) {
            sweep(tracker, artifact);
        }
        return server.calls();
    }

    private int countCallsOfCleanSync(Path template) {
        Path outboxDir = copyTree(template, tmp.resolve("count-sync"));
        FakeBackend server = new FakeBackend();
        new OutboxSync(outboxDir, server).run(null);
        return server.calls();
    }

    private static Path copyTree(Path from, Path to) {
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
            return to;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
