package org.prunelab.track;

import org.mlflow.api.proto.Service;
import org.mlflow.tracking.MlflowClient;
import org.mlflow.tracking.MlflowClientException;
import org.mlflow.tracking.MlflowHttpException;
import org.prunelab.PrunelabException;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * {@link TrackingBackend} over MLflow's REST API through {@code org.mlflow:mlflow-client}, which speaks
 * HTTP(S) only. Artifact uploads run MLflow's own Python CLI ({@code python -m
 * mlflow.store.artifact.cli log-artifact}), as the Java client itself does, but with the Python given
 * here rather than one found through the environment.
 */
final class MlflowBackend implements TrackingBackend {
    private static final Duration ARTIFACT_UPLOAD_LIMIT = Duration.ofMinutes(10);
    /** System property: seconds one REST call may take (default {@value #DEFAULT_CALL_LIMIT_SECONDS}). */
    static final String CALL_LIMIT_PROPERTY = "prunelab.mlflow.callTimeoutSeconds";
    static final long DEFAULT_CALL_LIMIT_SECONDS = 60;

    private final URI trackingUri;
    private final Path python;
    private final MlflowClient client;
    private final Map<String, String> experimentIds = new HashMap<>();
    /**
     * The client sets no socket timeouts (its Apache HttpClient waits forever on a server that accepts and never
     * answers), so each call runs on this thread and is abandoned after {@link #callLimit}.
     */
    private final ExecutorService calls = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "prunelab-mlflow-call");
        t.setDaemon(true);
        return t;
    });
    private final Duration callLimit;
    /** Why the client was given up (a call timed out and its connection was closed), or null. */
    private String abandoned;

    /**
     * @param trackingUri an {@code http://} or {@code https://} MLflow server
     * @param python      a Python that has {@code mlflow} installed, for artifact uploads
     */
    MlflowBackend(URI trackingUri, Path python) {
        this.trackingUri = trackingUri;
        this.python = python;
        this.client = new MlflowClient(trackingUri.toString());
        this.callLimit = Duration.ofSeconds(Math.max(1, Long.getLong(CALL_LIMIT_PROPERTY, DEFAULT_CALL_LIMIT_SECONDS)));
    }

    /**
     * The experiment's id, creating it if needed. Experiments are tagged as model-training experiments
     * ({@value MlflowNames#EXPERIMENT_KIND_TAG} = {@value MlflowNames#EXPERIMENT_KIND_MODEL_TRAINING}) so the MLflow 3 UI
     * opens them on the runs table; an existing experiment without the tag gets it.
     */
    @Override
    public String experimentId(String name) {
        String cached = experimentIds.get(name);
        if (cached != null) {
            return cached;
        }
        Optional<Service.Experiment> found = call("look up experiment " + name, () -> client.getExperimentByName(name));
        String id;
        if (found.isPresent()) {
            id = found.get().getExperimentId();
            boolean tagged = found.get().getTagsList().stream().anyMatch(t -> t.getKey().equals(MlflowNames.EXPERIMENT_KIND_TAG));
            if (!tagged) {
                call("tag experiment " + name, () -> {
                    client.setExperimentTag(id, MlflowNames.EXPERIMENT_KIND_TAG, MlflowNames.EXPERIMENT_KIND_MODEL_TRAINING);
                    return null;
                });
            }
        } else {
            id = createExperiment(name);
        }
        experimentIds.put(name, id);
        return id;
    }

    private String createExperiment(String name) {
        try {
            Service.CreateExperiment request = Service.CreateExperiment.newBuilder().setName(name)
                    .addTags(Service.ExperimentTag.newBuilder().setKey(MlflowNames.EXPERIMENT_KIND_TAG)
                            .setValue(MlflowNames.EXPERIMENT_KIND_MODEL_TRAINING))
                    .build();
            return call("create experiment " + name, () -> client.createExperiment(request));
        } catch (PrunelabException alreadyExists) {
            // Another process created it between our look-up and create.
            return call("look up experiment " + name, () -> client.getExperimentByName(name))
                    .map(Service.Experiment::getExperimentId)
                    .orElseThrow(() -> alreadyExists);
        }
    }

    @Override
    public String createRun(String experimentId, String runName, long startTimeMs, Map<String, String> tags) {
        Service.CreateRun.Builder request = Service.CreateRun.newBuilder()
                .setExperimentId(experimentId)
                .setStartTime(startTimeMs);
        if (runName != null) {
            request.setRunName(runName);
        }
        tags.forEach((k, v) -> request.addTags(Service.RunTag.newBuilder().setKey(k).setValue(v)));
        return call("create run " + runName, () -> client.createRun(request.build())).getRunId();
    }

    @Override
    public Optional<String> findRunByKey(String experimentId, String runKey) {
        String filter = "tags.`" + MlflowNames.RUN_KEY_TAG + "` = '" + runKey.replace("'", "") + "'";
        List<Service.Run> runs = call("search runs",
                () -> client.searchRuns(List.of(experimentId), filter, Service.ViewType.ACTIVE_ONLY, 1).getItems());
        return runs.stream().map(r -> r.getInfo().getRunId()).findFirst();
    }

    @Override
    public List<TaggedRun> runsTagged(String experimentId, String tag) {
        List<TaggedRun> found = new ArrayList<>();
        String pageToken = null;
        do {
            String token = pageToken;
            org.mlflow.tracking.RunsPage page = call("search runs", () -> client.searchRuns(List.of(experimentId), "",
                    Service.ViewType.ACTIVE_ONLY, 1000, List.of(), token));
            for (Service.Run run : page.getItems()) {
                for (Service.RunTag t : run.getData().getTagsList()) {
                    if (t.getKey().equals(tag)) {
                        found.add(new TaggedRun(run.getInfo().getRunId(), t.getValue(), run.getInfo().getStatus().name(), false));
                    }
                }
            }
            pageToken = page.getNextPageToken().filter(s -> !s.isEmpty()).orElse(null);
        } while (pageToken != null);
        return found;
    }

    @Override
    public void log(String runId, List<MetricPoint> metrics, Map<String, String> params, Map<String, String> tags) {
        List<Service.Metric> m = new ArrayList<>();
        for (MetricPoint p : metrics) {
            m.add(Service.Metric.newBuilder().setKey(p.key()).setValue(p.value())
                    .setTimestamp(p.timestampMs()).setStep(p.step()).build());
        }
        List<Service.Param> ps = new ArrayList<>();
        params.forEach((k, v) -> ps.add(Service.Param.newBuilder().setKey(k).setValue(v).build()));
        List<Service.RunTag> ts = new ArrayList<>();
        tags.forEach((k, v) -> ts.add(Service.RunTag.newBuilder().setKey(k).setValue(v).build()));
        call("log to run " + runId, () -> {
            client.logBatch(runId, m, ps, ts);
            return null;
        });
    }

    @Override
    public List<MetricPoint> metricHistory(String runId, String metricKey) {
        return call("read metric " + metricKey, () -> client.getMetricHistory(runId, metricKey)).stream()
                .map(x -> new MetricPoint(x.getKey(), x.getValue(), x.getTimestamp(), x.getStep()))
                .toList();
    }

    @Override
    public void endRun(String runId, RunStatus status, long endTimeMs) {
        call("end run " + runId, () -> {
            client.setTerminated(runId, Service.RunStatus.valueOf(status.name()), endTimeMs);
            return null;
        });
    }

    @Override
    public void logArtifact(String runId, Path file, String artifactPath) {
        if (!Files.isExecutable(python)) {
            throw new PrunelabException.Setup("cannot upload artifact " + file + ": no Python at " + python
                    + "; run tools/mlflow/setup.sh, or set MLFLOW_PYTHON_EXECUTABLE to a Python with mlflow");
        }
        boolean folder = Files.isDirectory(file);
        List<String> command = new ArrayList<>(List.of(python.toString(), "-m", "mlflow.store.artifact.cli",
                folder ? "log-artifacts" : "log-artifact", folder ? "--local-dir" : "--local-file",
                file.toAbsolutePath().toString(), "--run-id", runId));
        if (artifactPath != null && !artifactPath.isEmpty()) {
            command.addAll(List.of("--artifact-path", artifactPath));
        }
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("MLFLOW_TRACKING_URI", trackingUri.toString());
        builder.environment().put("MLFLOW_DISABLE_TELEMETRY", "true");
        String output;
        int exit;
        try {
            Path log = Files.createTempFile("prunelab-artifact-upload", ".log");
            try {
                Process process = builder.redirectOutput(log.toFile()).start();
                if (!process.waitFor(ARTIFACT_UPLOAD_LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new TrackingUnavailableException("artifact upload of " + file + " took longer than "
                            + ARTIFACT_UPLOAD_LIMIT, null);
                }
                exit = process.exitValue();
                output = Files.readString(log, StandardCharsets.UTF_8);
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new PrunelabException.Setup("cannot run " + python + " to upload artifact " + file + ": "
                    + e.getMessage() + "; run tools/mlflow/setup.sh", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TrackingUnavailableException("interrupted while uploading artifact " + file, e);
        }
        if (exit != 0) {
            String tail = output.length() > 2000 ? output.substring(output.length() - 2000) : output;
            if (!MlflowServer.answers(trackingUri)) {
                throw new TrackingUnavailableException("artifact upload failed; server not answering: " + tail, null);
            }
            throw new PrunelabException("uploading artifact " + file + " to run " + runId + " failed (exit "
                    + exit + "):\n" + tail.strip() + "\nCheck the file and the server log under mlruns/.");
        }
    }

    @Override
    public void close() {
        calls.shutdownNow();
        client.close();
    }

    /**
     * Runs one client call, at most {@link #callLimit} long, turning the client's errors into "unavailable" (the call
     * may or may not have taken effect; the outbox's replay is safe to repeat) or "refused". After a call times out
     * its connection is closed and every later call is "unavailable" at once: the tracker is offline from then on.
     */
    private <T> T call(String what, Supplier<T> body) {
        if (abandoned != null) throw new TrackingUnavailableException(what + ": " + abandoned, null);
        Future<T> pending = calls.submit(() -> classify(what, body));
        try {
            return pending.get(callLimit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            abandoned = "the MLflow server at " + trackingUri + " did not answer within " + callLimit.toSeconds() + " s";
            pending.cancel(true);
            client.close(); // unblocks the call's socket read
            throw new TrackingUnavailableException(what + ": " + abandoned, e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new TrackingUnavailableException(what + ": " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pending.cancel(true);
            throw new TrackingUnavailableException(what + ": interrupted", e);
        }
    }

    private <T> T classify(String what, Supplier<T> body) {
        try {
            return body.get();
        } catch (MlflowHttpException e) {
            int status = e.getStatusCode();
            if (status >= 500 || status == 429 || status == 408) {
                throw new TrackingUnavailableException(what + ": HTTP " + status, e);
            }
            throw new PrunelabException("the MLflow server at " + trackingUri + " refused to " + what + " (HTTP "
                    + status + "): " + e.getBodyMessage()
                    + "; check the names and values logged (MLflow params cannot change once logged)", e);
        } catch (MlflowClientException e) {
            throw new TrackingUnavailableException(what + ": " + e.getMessage(), e);
        }
    }
}
