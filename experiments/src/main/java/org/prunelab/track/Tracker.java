package org.prunelab.track;

import org.prunelab.PrunelabException;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Records prunelab runs in MLflow: the one place that knows MLflow (core does not). A sweep is a parent
 * run and each point a nested run; names follow {@link MlflowNames}.
 *
 * <p>Tracking never stops the work. Calls go to the server while it answers; from the first call that
 * cannot reach it (connection refused, timeout, HTTP 5xx), this tracker writes every call, for every run,
 * to the {@link Outbox} under {@code mlruns/outbox/} instead, and stays that way until it is closed.
 * {@link #sync()} (run automatically when a tracker opens, and by {@code ./prunelab mlflow sync}) later
 * sends the outbox to the server exactly once. A request the server refuses (HTTP 4xx, e.g. a param
 * logged twice with different values) is a mistake in the caller and throws a {@link PrunelabException}.
 *
 * <p>Typical use:
 * <pre>{@code
 * try (Tracker tracker = Tracker.open(projectRoot);
 *      TrackedRun sweep = tracker.startRun("tradeoff", "sweep-2024-05-01")) {
 *     try (TrackedRun point = sweep.startChild("wanda-0.5")) {
 *         point.logParam(MlflowNames.Param.METHOD, "wanda").logMetric(MlflowNames.Metric.PERPLEXITY, 23.1);
 *     }
 * }
 * }</pre>
 * Thread-safe: calls are serialised.
 */
public final class Tracker implements AutoCloseable {
    private final TrackingBackend backend;
    private final Outbox outbox;
    private final Map<String, String> contextTags;
    private final URI trackingUri;
    private String offlineReason;
    private SyncReport lastSync;

    Tracker(TrackingBackend backend, URI trackingUri, Outbox outbox, Map<String, String> contextTags,
            String offlineReason) {
        this.backend = backend;
        this.trackingUri = trackingUri;
        this.outbox = outbox;
        this.contextTags = Map.copyOf(contextTags);
        this.offlineReason = offlineReason;
    }

    /**
     * Opens tracking for the checkout at {@code projectRoot}: the server named by {@code MLFLOW_TRACKING_URI}
     * if set, else the project's local server ({@link MlflowServer#forProject}, started if needed). If no
     * server can be had, the tracker works offline (see {@link #offlineReason()}). Then syncs the outbox.
     *
     * @throws PrunelabException.Setup if {@code MLFLOW_TRACKING_URI} is not an http(s) URI
     */
    public static Tracker open(Path projectRoot) {
        Path outboxDir = projectRoot.resolve("mlruns").resolve("outbox");
        Map<String, String> tags = RunContext.tags(projectRoot);
        URI uri;
        try {
            uri = trackingUri(projectRoot);
        } catch (PrunelabException.Setup e) {
            if (System.getenv("MLFLOW_TRACKING_URI") != null) {
                throw e;
            }
            return new Tracker(null, null, Outbox.open(outboxDir), tags,
                    "no MLflow server (" + e.getMessage() + ")");
        }
        return connect(uri, outboxDir, pythonFor(projectRoot), tags);
    }

    /**
     * Opens tracking against a given server, with the outbox in {@code outboxDir}, and syncs the outbox.
     *
     * @param python a Python with mlflow installed, used for artifact uploads
     */
    public static Tracker connect(URI trackingUri, Path outboxDir, Path python, Map<String, String> contextTags) {
        return connect(trackingUri, outboxDir, python, contextTags, true);
    }

    /**
     * As {@link #connect(URI, Path, Path, Map)}; with {@code syncOutbox} false the outbox is left for whoever sends it
     * (a Spark task writes to a folder its driver syncs: many tasks syncing one folder at once would only race).
     */
    public static Tracker connect(URI trackingUri, Path outboxDir, Path python, Map<String, String> contextTags,
                                  boolean syncOutbox) {
        Outbox outbox = Outbox.open(outboxDir);
        if (!MlflowServer.answers(trackingUri)) {
            return new Tracker(null, trackingUri, outbox, contextTags,
                    "the MLflow server at " + trackingUri + " does not answer");
        }
        Tracker tracker = new Tracker(new MlflowBackend(trackingUri, python), trackingUri, outbox, contextTags, null);
        if (syncOutbox) tracker.sync();
        return tracker;
    }

    /** A tracker that writes only to the outbox in {@code outboxDir} (no server at all). */
    public static Tracker offline(Path outboxDir, Map<String, String> contextTags, String reason) {
        return new Tracker(null, null, Outbox.open(outboxDir), contextTags, reason);
    }

    /**
     * The tracking server for a checkout: {@code MLFLOW_TRACKING_URI} when set (nothing is started), else
     * the project's local server, started if it is not running.
     *
     * @throws PrunelabException.Setup if {@code MLFLOW_TRACKING_URI} is not http(s), or the server cannot start
     */
    public static URI trackingUri(Path projectRoot) {
        return trackingUri(projectRoot, System.getenv());
    }

    static URI trackingUri(Path projectRoot, Map<String, String> environment) {
        String env = environment.get("MLFLOW_TRACKING_URI");
        if (env != null && !env.isBlank()) {
            URI uri = URI.create(env.strip());
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
                throw new PrunelabException.Setup("MLFLOW_TRACKING_URI is " + env + ", but prunelab's MLflow client"
                        + " speaks HTTP only; point it at an MLflow server (http://host:port), or unset it so"
                        + " prunelab starts a local one");
            }
            return uri;
        }
        return MlflowServer.forProject(projectRoot).start();
    }

    /** The Python for artifact uploads: {@code MLFLOW_PYTHON_EXECUTABLE}, else the project's venv. */
    public static Path pythonFor(Path projectRoot) {
        String env = System.getenv("MLFLOW_PYTHON_EXECUTABLE");
        return env != null && !env.isBlank() ? Path.of(env) : projectRoot.resolve(".venv-mlflow/bin/python");
    }

    /**
     * The page of {@code run} in the MLflow UI, when the run reached the server: {@code <server>/#/experiments/<id>/runs/<run>}
     * (the experiment id from the REST API; without it the UI still finds the run by its id).
     */
    public Optional<String> runUrl(TrackedRun run) {
        if (trackingUri == null || run.runId().isEmpty() || !isOnline()) return Optional.empty();
        String base = trackingUri.toString().replaceAll("/+$", "");
        String runId = run.runId().get();
        try {
            java.net.http.HttpResponse<String> resp = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(URI.create(base + "/api/2.0/mlflow/runs/get?run_id=" + runId))
                            .timeout(java.time.Duration.ofSeconds(10)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            String experiment = new com.fasterxml.jackson.databind.ObjectMapper().readTree(resp.body())
                    .path("run").path("info").path("experiment_id").asText("");
            if (!experiment.isEmpty()) return Optional.of(base + "/#/experiments/" + experiment + "/runs/" + runId);
        } catch (java.io.IOException e) {
            // fall through to the id-only link
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Optional.of(base + "/#/runs/" + runId);
    }

    /** The server this tracker talks to, if any. */
    public Optional<URI> trackingUri() {
        return Optional.ofNullable(trackingUri);
    }

    /** True while calls go to the server; false once they go to the outbox. */
    public synchronized boolean isOnline() {
        return offlineReason == null;
    }

    /** Why calls go to the outbox, once they do. */
    public synchronized Optional<String> offlineReason() {
        return Optional.ofNullable(offlineReason);
    }

    /** The result of the last {@link #sync()}, if one ran. */
    public synchronized Optional<SyncReport> lastSync() {
        return Optional.ofNullable(lastSync);
    }

    /** Starts a top-level run in {@code experiment} (created if missing). */
    public TrackedRun startRun(String experiment, String runName) {
        return startRun(experiment, runName, null);
    }

    /**
     * Starts a run; with a {@code parent}, a nested run (tag {@value MlflowNames#PARENT_RUN_ID_TAG}) in the
     * parent's experiment.
     */
    public synchronized TrackedRun startRun(String experiment, String runName, TrackedRun parent) {
        if (parent != null && parent.tracker() != this) {
            throw new IllegalArgumentException("parent run " + parent.name() + " belongs to another Tracker;"
                    + " start nested runs from the tracker (or run) that started the parent");
        }
        String exp = parent != null ? parent.experiment() : experiment;
        Map<String, String> tags = new LinkedHashMap<>(contextTags);
        String key = UUID.randomUUID().toString();
        tags.put(MlflowNames.RUN_KEY_TAG, key);
        if (runName != null) {
            tags.put(MlflowNames.RUN_NAME_TAG, runName);
        }
        TrackedRun run = new TrackedRun(this, key, exp, runName, parent, System.currentTimeMillis(), tags);
        if (isOnline()) {
            try {
                Map<String, String> createTags = new LinkedHashMap<>(tags);
                if (parent != null) {
                    createTags.put(MlflowNames.PARENT_RUN_ID_TAG, parent.runId().orElseThrow());
                }
                run.runId = backend.createRun(backend.experimentId(exp), runName, run.startTimeMs(), createTags);
                return run;
            } catch (TrackingUnavailableException e) {
                goOffline(e);
            }
        }
        ensureRecorded(run);
        return run;
    }

    /**
     * A run that another process started (a Spark driver's sweep run, on an executor), to start nested runs under
     * with {@link TrackedRun#startChild}. This tracker never logs to it or ends it: it is the other process's. While
     * offline, the first nested run writes the attached run's start to this tracker's outbox too (with its server id
     * when known), so a later sync nests the records under the same run, found by its key, or creates it once.
     *
     * @throws PrunelabException.InvalidArgument if this tracker is online and the run never reached the server (an
     *                                           online tracker cannot nest a run under a parent it cannot name)
     */
    public synchronized TrackedRun attach(RunRef ref) {
        if (isOnline() && ref.runId() == null) {
            throw new PrunelabException.InvalidArgument("run " + ref.name() + " (" + ref.key() + ") never reached the"
                    + " MLflow server at " + trackingUri + ", so runs cannot be nested under it there; open this tracker"
                    + " offline (its records go to the outbox) or start the parent run online");
        }
        TrackedRun run = new TrackedRun(this, ref.key(), ref.experiment(), ref.name(), null, ref.startTimeMs(), ref.creationTags());
        run.runId = ref.runId();
        return run;
    }

    /**
     * Every run of {@code experiment} carrying the tag {@code tag} (set at creation or later), from the server
     * while online and from this tracker's outbox folder (runs recorded offline and not yet synced). Sweeps use
     * it to find the points a killed or offline sweep already finished.
     *
     * @throws PrunelabException if an outbox file is unreadable
     */
    public synchronized List<TaggedRun> runsTagged(String experiment, String tag) {
        List<TaggedRun> found = new ArrayList<>();
        if (isOnline()) {
            try {
                found.addAll(backend.runsTagged(backend.experimentId(experiment), tag));
            } catch (TrackingUnavailableException e) {
                goOffline(e);
            }
        }
        for (Path file : Outbox.files(outbox.dir())) {
            Map<String, String> values = new LinkedHashMap<>();
            Map<String, String> statuses = new LinkedHashMap<>();
            Map<String, String> runIds = new LinkedHashMap<>();
            for (OutboxRecord r : Outbox.read(file)) {
                switch (r) {
                    case OutboxRecord.StartRun s when s.experiment().equals(experiment) -> {
                        statuses.put(s.runKey(), "RUNNING");
                        if (s.runId() != null) runIds.put(s.runKey(), s.runId());
                        if (s.tags().containsKey(tag)) values.put(s.runKey(), s.tags().get(tag));
                    }
                    case OutboxRecord.SetTags t when statuses.containsKey(t.runKey()) && t.tags().containsKey(tag) ->
                            values.put(t.runKey(), t.tags().get(tag));
                    case OutboxRecord.EndRun e when statuses.containsKey(e.runKey()) -> statuses.put(e.runKey(), e.status().name());
                    default -> { }
                }
            }
            values.forEach((key, value) -> found.add(new TaggedRun(runIds.get(key), value, statuses.get(key), true)));
        }
        return found;
    }

    /**
     * Marks a server run that was left RUNNING by a process that died as KILLED, so the MLflow UI does not
     * show it as still going. Does nothing while offline.
     */
    public synchronized void markKilled(String runId) {
        if (!isOnline()) return;
        try {
            backend.endRun(runId, RunStatus.KILLED, System.currentTimeMillis());
        } catch (TrackingUnavailableException e) {
            goOffline(e);
        }
    }

    /**
     * Sends the outbox to the server (files other trackers are still writing are left for later).
     * Does nothing while this tracker is offline.
     */
    public synchronized SyncReport sync() {
        if (!isOnline()) {
            lastSync = new SyncReport(0, 0, 0, java.util.List.of("offline: " + offlineReason));
            return lastSync;
        }
        try {
            lastSync = new OutboxSync(outbox.dir(), backend).run(outbox.file());
        } catch (TrackingUnavailableException e) {
            goOffline(e);
            lastSync = new SyncReport(0, 0, 0, java.util.List.of("server went away: " + e.getMessage()));
        }
        return lastSync;
    }

    /** Closes the outbox file (kept for a later sync) and the connection. Runs left open stay RUNNING. */
    @Override
    public synchronized void close() {
        outbox.close();
        if (backend != null) {
            backend.close();
        }
    }

    /**
     * Sends one call of {@code run}: to the server while online, else (or when the server fails now)
     * the record made by {@code offline} goes to the outbox.
     */
    synchronized void submit(TrackedRun run, Consumer<String> online, Supplier<OutboxRecord> offline) {
        if (isOnline()) {
            try {
                online.accept(run.runId().orElseThrow());
                return;
            } catch (TrackingUnavailableException e) {
                goOffline(e);
            }
        }
        ensureRecorded(run);
        outbox.append(offline.get());
    }

    String stageArtifact(Path file) {
        return outbox.stageArtifact(file);
    }

    TrackingBackend backend() {
        return backend;
    }

    /** Writes the run's start (and its parent's, first) to the outbox, once. */
    private void ensureRecorded(TrackedRun run) {
        if (run.inOutbox) {
            return;
        }
        TrackedRun parent = run.parent();
        if (parent != null) {
            ensureRecorded(parent);
        }
        outbox.append(new OutboxRecord.StartRun(run.key(), run.experiment(), run.name(), run.runId().orElse(null),
                parent == null ? null : parent.key(), parent == null ? null : parent.runId().orElse(null),
                run.startTimeMs(), run.creationTags()));
        run.inOutbox = true;
    }

    private void goOffline(TrackingUnavailableException e) {
        offlineReason = "lost the MLflow server at " + trackingUri + " (" + e.getMessage()
                + "); records go to " + outbox.dir();
    }
}
