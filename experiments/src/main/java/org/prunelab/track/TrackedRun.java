package org.prunelab.track;

import org.prunelab.PrunelabException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One MLflow run, started by {@link Tracker#startRun}. Logging methods return {@code this} so calls chain.
 * Values go to the server, or to the outbox when it cannot be reached (see {@link Tracker}).
 * {@link #close()} ends the run as {@link RunStatus#FINISHED} unless {@link #end} was called; call
 * {@code end(RunStatus.FAILED)} when the work failed.
 */
public final class TrackedRun implements AutoCloseable {
    private final Tracker tracker;
    private final String key;
    private final String experiment;
    private final String name;
    private final TrackedRun parent;
    private final long startTimeMs;
    private final Map<String, String> creationTags;
    /** The server's id; null while the run exists only in the outbox. Set by {@link Tracker}. */
    String runId;
    /** Whether the run's start is in the outbox. Set by {@link Tracker}. */
    boolean inOutbox;
    private boolean ended;

    TrackedRun(Tracker tracker, String key, String experiment, String name, TrackedRun parent, long startTimeMs,
               Map<String, String> creationTags) {
        this.tracker = tracker;
        this.key = key;
        this.experiment = experiment;
        this.name = name;
        this.parent = parent;
        this.startTimeMs = startTimeMs;
        this.creationTags = Map.copyOf(creationTags);
    }

    /** The client-made key (tag {@value MlflowNames#RUN_KEY_TAG}); the same online and after replay. */
    public String key() {
        return key;
    }

    /** MLflow's run id, when the run reached the server from this process. */
    public Optional<String> runId() {
        return Optional.ofNullable(runId);
    }

    public String experiment() {
        return experiment;
    }

    public String name() {
        return name;
    }

    /** The parent of a nested run, else null. */
    public TrackedRun parent() {
        return parent;
    }

    Tracker tracker() {
        return tracker;
    }

    long startTimeMs() {
        return startTimeMs;
    }

    Map<String, String> creationTags() {
        return creationTags;
    }

    /** This run as another process needs it to nest runs under it ({@link Tracker#attach}). */
    public RunRef ref() {
        return new RunRef(key, experiment, name, runId, startTimeMs, creationTags);
    }

    /** Starts a run nested under this one, in the same experiment. */
    public TrackedRun startChild(String runName) {
        return tracker.startRun(experiment, runName, this);
    }

    /** Logs one param; {@code value} is written with {@code toString()}. MLflow params are write-once. */
    public TrackedRun logParam(MlflowNames.Param param, Object value) {
        return logParams(Map.of(param, value));
    }

    /** Logs params; each value is written with {@code toString()}. */
    public TrackedRun logParams(Map<MlflowNames.Param, ?> params) {
        Map<String, Object> byKey = new LinkedHashMap<>();
        params.forEach((k, v) -> byKey.put(k.key(), v));
        return logRawParams(byKey);
    }

    /**
     * Logs a pruning method's own parameters under their registry names ({@code owl}, {@code allocation},
     * {@code rank_ratio}, ...). Names that are also {@link MlflowNames.Param}s ({@code sparsity}, {@code pattern}) must
     * be logged through {@link #logParams}.
     *
     * @throws IllegalArgumentException for a name no registered method declares, or one that is a run-level param
     */
    public TrackedRun logMethodParams(Map<String, ?> params) {
        for (String name : params.keySet()) {
            if (!org.prunelab.prune.Methods.paramNames().contains(name)) {
                throw new IllegalArgumentException(name + " is not a parameter of any registered method");
            }
            for (MlflowNames.Param p : MlflowNames.Param.values()) {
                if (p.key().equals(name)) throw new IllegalArgumentException(name + " is a run-level param; log it as Param." + p);
            }
        }
        return logRawParams(params);
    }

    private TrackedRun logRawParams(Map<String, ?> params) {
        checkOpen();
        Map<String, String> values = new LinkedHashMap<>();
        params.forEach((k, v) -> values.put(k, String.valueOf(Objects.requireNonNull(v, k))));
        tracker.submit(this, id -> tracker.backend().log(id, List.of(), values, Map.of()),
                () -> new OutboxRecord.LogParams(key, values));
        return this;
    }

    /** Logs a metric at step 0, timestamped now. */
    public TrackedRun logMetric(MlflowNames.Metric metric, double value) {
        return logMetric(metric, value, 0);
    }

    /** Logs a metric at {@code step} (e.g. a sequence index), timestamped now. */
    public TrackedRun logMetric(MlflowNames.Metric metric, double value, long step) {
        return logPoints(List.of(new MetricPoint(metric.key(), value, System.currentTimeMillis(), step)));
    }

    /** Logs several metrics at step 0 with one timestamp; non-finite values are left out (MLflow cannot plot them). */
    public TrackedRun logMetrics(Map<MlflowNames.Metric, ? extends Number> metrics) {
        long now = System.currentTimeMillis();
        List<MetricPoint> points = new ArrayList<>();
        metrics.forEach((k, v) -> {
            if (Double.isFinite(v.doubleValue())) points.add(new MetricPoint(k.key(), v.doubleValue(), now, 0));
        });
        return logPoints(points);
    }

    /**
     * Logs metrics whose names are built at run time (per-task accuracies, {@link MlflowNames#taskMetric}) at step 0
     * with one timestamp; non-finite values are left out.
     */
    public TrackedRun logNamedMetrics(Map<String, ? extends Number> metrics) {
        long now = System.currentTimeMillis();
        List<MetricPoint> points = new ArrayList<>();
        metrics.forEach((k, v) -> {
            if (Double.isFinite(v.doubleValue())) points.add(new MetricPoint(k, v.doubleValue(), now, 0));
        });
        return logPoints(points);
    }

    private TrackedRun logPoints(List<MetricPoint> points) {
        checkOpen();
        if (points.isEmpty()) return this;
        tracker.submit(this, id -> tracker.backend().log(id, points, Map.of(), Map.of()),
                () -> new OutboxRecord.LogMetrics(key, points));
        return this;
    }

    public TrackedRun setTag(String tag, String value) {
        return setTags(Map.of(tag, value));
    }

    public TrackedRun setTags(Map<String, String> tags) {
        checkOpen();
        Map<String, String> copy = Map.copyOf(tags);
        tracker.submit(this, id -> tracker.backend().log(id, List.of(), Map.of(), copy),
                () -> new OutboxRecord.SetTags(key, copy));
        return this;
    }

    /** Uploads a file to the top level of the run's artifacts. */
    public TrackedRun logArtifact(Path file) {
        return logArtifact(file, null);
    }

    /**
     * Uploads a file into the folder {@code artifactPath} of the run's artifacts (null: top level); a folder's
     * files (recursively) go there in one upload, which saves a Python start per file.
     * Offline, the outbox keeps a copy, so the file or folder may be deleted afterwards.
     *
     * @throws PrunelabException.InvalidArgument if {@code file} is neither a regular file nor a folder
     */
    public TrackedRun logArtifact(Path file, String artifactPath) {
        checkOpen();
        if (!Files.isRegularFile(file) && !Files.isDirectory(file)) {
            throw new PrunelabException.InvalidArgument("cannot log artifact " + file
                    + ": not a regular file; pass the path of a file that exists");
        }
        tracker.submit(this, id -> tracker.backend().logArtifact(id, file, artifactPath),
                () -> new OutboxRecord.LogArtifact(key, tracker.stageArtifact(file), artifactPath));
        return this;
    }

    /** Ends the run with {@code status}. Further logging throws {@link IllegalStateException}. */
    public void end(RunStatus status) {
        checkOpen();
        long now = System.currentTimeMillis();
        tracker.submit(this, id -> tracker.backend().endRun(id, status, now),
                () -> new OutboxRecord.EndRun(key, status, now));
        ended = true;
    }

    public boolean ended() {
        return ended;
    }

    /** Ends the run as FINISHED unless it was ended already. */
    @Override
    public void close() {
        if (!ended) {
            end(RunStatus.FINISHED);
        }
    }

    private void checkOpen() {
        if (ended) {
            throw new IllegalStateException("run " + name + " (" + key + ") has already ended");
        }
    }
}
