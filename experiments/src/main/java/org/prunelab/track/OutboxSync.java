package org.prunelab.track;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Replays {@link Outbox} files to the tracking server, exactly once.
 *
 * <p>How duplicates are avoided, record by record, even when a sync dies half-way:
 * <ul>
 *   <li>After each record is applied, the file's cursor is durably advanced; a new sync resumes there.
 *       Only the one record applied just before a crash can be applied twice, so each kind of record is
 *       made safe to repeat:</li>
 *   <li>runs carry their client-made key as the tag {@value MlflowNames#RUN_KEY_TAG} from the moment
 *       they are created; a run is looked up by that key before it is created;</li>
 *   <li>metric points already stored with the same name, value, timestamp and step are skipped;</li>
 *   <li>params (write-once, same value), tags, artifacts (same path) and run ends overwrite themselves.</li>
 * </ul>
 * A file that a live writer still holds (its lock) is left for a later sync. A fully replayed file is
 * deleted together with its cursor and staged artifacts.
 */
final class OutboxSync {

    private final Path dir;
    private final TrackingBackend backend;

    OutboxSync(Path dir, TrackingBackend backend) {
        this.dir = dir;
        this.backend = backend;
    }

    /**
     * Sends every outbox file except {@code exclude} (the caller's own open file; may be null).
     *
     * @throws TrackingUnavailableException if the server goes away; what was sent so far stays marked
     */
    SyncReport run(Path exclude) {
        removeOrphanCursors();
        int synced = 0;
        int busy = 0;
        int[] sent = {0};
        List<String> problems = new ArrayList<>();
        for (Path file : Outbox.files(dir)) {
            if (file.equals(exclude)) {
                continue;
            }
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                FileLock lock = tryLock(channel);
                if (lock == null) {
                    busy++;
                    continue;
                }
                try {
                    replayFile(file, sent);
                    synced++;
                } finally {
                    if (lock.isValid()) {
                        lock.release();
                    }
                }
            } catch (PrunelabException e) {
                problems.add(file.getFileName() + ": " + e.getMessage());
            } catch (IOException e) {
                problems.add(file.getFileName() + ": " + e.getMessage());
            } catch (UncheckedIOException e) {
                problems.add(file.getFileName() + ": " + e.getMessage() + " (" + e.getCause().getMessage() + ")");
            }
        }
        return new SyncReport(synced, sent[0], busy, problems);
    }

    private static FileLock tryLock(FileChannel channel) throws IOException {
        try {
            return channel.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;   // held by a tracker in this JVM
        }
    }

    private void replayFile(Path file, int[] sent) throws IOException {
        List<OutboxRecord> records = Outbox.read(file);
        Replay replay = new Replay(records);
        for (int i = Outbox.readCursor(file); i < records.size(); i++) {
            replay.apply(records.get(i));
            Outbox.writeCursor(file, i + 1);
            sent[0]++;
        }
        // Staged copies first: if we crash after this, the cursor already says nothing is left to upload.
        for (OutboxRecord r : records) {
            if (r instanceof OutboxRecord.LogArtifact a) {
                deleteTree(staged(a).getParent());
            }
        }
        Files.delete(file);
        Files.deleteIfExists(Outbox.cursorOf(file));
    }

    /** The replay of one file: resolves run keys to server run ids as it goes. */
    private final class Replay {
        private final Map<String, OutboxRecord.StartRun> starts = new HashMap<>();
        private final Map<String, String> runIds = new HashMap<>();
        /** Runs created by this replay: they have no earlier metric points to collide with. */
        private final Set<String> createdHere = new HashSet<>();
        /** Run keys whose id is being looked up (their parents' first): a key met twice is a cycle. */
        private final Set<String> resolving = new HashSet<>();

        Replay(List<OutboxRecord> records) {
            for (OutboxRecord r : records) {
                if (r instanceof OutboxRecord.StartRun s) {
                    starts.put(s.runKey(), s);
                }
            }
        }

        void apply(OutboxRecord record) {
            String runId = runId(record.runKey());
            switch (record) {
                case OutboxRecord.StartRun ignored -> { }   // runId() above created or found it
                case OutboxRecord.LogParams p -> backend.log(runId, List.of(), p.params(), Map.of());
                case OutboxRecord.SetTags t -> backend.log(runId, List.of(), Map.of(), t.tags());
                case OutboxRecord.LogMetrics m -> {
                    List<MetricPoint> missing = createdHere.contains(m.runKey()) ? m.metrics() : notStored(runId, m.metrics());
                    if (!missing.isEmpty()) {
                        backend.log(runId, missing, Map.of(), Map.of());
                    }
                }
                case OutboxRecord.LogArtifact a -> {
                    Path staged = staged(a);
                    if (!Files.isRegularFile(staged) && !Files.isDirectory(staged)) {
                        throw new PrunelabException("the outbox's copy of an artifact is missing: " + staged
                                + "; restore it, or remove that record from the outbox file");
                    }
                    backend.logArtifact(runId, staged, a.artifactPath());
                }
                case OutboxRecord.EndRun e -> backend.endRun(runId, e.status(), e.endTimeMs());
            }
        }

        private String runId(String runKey) {
            String known = runIds.get(runKey);
            if (known != null) {
                return known;
            }
            if (!resolving.add(runKey)) {
                throw new PrunelabException("the outbox's run " + runKey + " is its own ancestor (parent keys form a"
                        + " cycle); the file was edited by hand: fix the parentKey of its start_run records");
            }
            OutboxRecord.StartRun start = starts.get(runKey);
            if (start == null) {
                throw new PrunelabException("the outbox has records for run key " + runKey
                        + " but not its start; the file was edited or truncated by hand");
            }
            String experimentId = backend.experimentId(start.experiment());
            String id = backend.findRunByKey(experimentId, runKey).orElse(null);
            if (id == null) {
                Map<String, String> tags = new LinkedHashMap<>(start.tags());
                String parentId = start.parentRunId() != null ? start.parentRunId()
                        : start.parentKey() != null ? runId(start.parentKey()) : null;
                if (parentId != null) {
                    tags.put(MlflowNames.PARENT_RUN_ID_TAG, parentId);
                }
                id = backend.createRun(experimentId, start.runName(), start.startTimeMs(), tags);
                createdHere.add(runKey);
            }
            runIds.put(runKey, id);
            return id;
        }

        private List<MetricPoint> notStored(String runId, List<MetricPoint> points) {
            Map<String, List<MetricPoint>> stored = new HashMap<>();
            List<MetricPoint> missing = new ArrayList<>();
            for (MetricPoint p : points) {
                List<MetricPoint> history = stored.computeIfAbsent(p.key(), k -> backend.metricHistory(runId, k));
                if (history.stream().noneMatch(p::sameAs)) {
                    missing.add(p);
                }
            }
            return missing;
        }
    }

    /**
     * The outbox's copy of an artifact. Its path comes from the file, so it is checked: it must lie under the outbox's
     * {@value Outbox#STAGED_DIR} folder, as {@link Outbox#stageArtifact} writes it; replay uploads that copy and then
     * deletes its folder, which must never be one outside the outbox.
     *
     * @throws PrunelabException if the path leaves the staging folder
     */
    private Path staged(OutboxRecord.LogArtifact a) {
        Path stagingRoot = dir.resolve(Outbox.STAGED_DIR).toAbsolutePath().normalize();
        Path staged;
        try {
            staged = dir.resolve(a.stagedFile()).toAbsolutePath().normalize();
        } catch (java.nio.file.InvalidPathException e) {
            staged = null;
        }
        if (staged == null || !staged.startsWith(stagingRoot) || staged.getParent().equals(stagingRoot)) {
            throw new PrunelabException("the outbox names the artifact copy '" + a.stagedFile() + "', which is not a"
                    + " file under " + stagingRoot + "; the file was edited by hand: fix or remove that log_artifact record");
        }
        return staged;
    }

    private void removeOrphanCursors() {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path cursor : entries.filter(p -> p.getFileName().toString().endsWith(Outbox.CURSOR_SUFFIX)).toList()) {
                String name = cursor.getFileName().toString();
                Path file = cursor.resolveSibling(name.substring(0, name.length() - Outbox.CURSOR_SUFFIX.length()));
                if (!Files.exists(file)) {
                    Files.deleteIfExists(cursor);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot tidy the MLflow outbox " + dir, e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
