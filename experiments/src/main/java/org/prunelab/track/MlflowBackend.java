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
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@link TrackingBackend} over MLflow's REST API through {@code org.mlflow:mlflow-client}, which speaks
 * HTTP(S) only. Artifact uploads run MLflow's own Python CLI ({@code python -m
 * mlflow.store.artifact.cli log-artifact}), as the Java client itself does, but with the Python given
 * here rather than one found through the environment.
 */
final class MlflowBackend implements TrackingBackend {
    private static final Duration ARTIFACT_UPLOAD_LIMIT = Duration.ofMinutes(10);

    private final URI trackingUri;
    private final Path python;
    private final MlflowClient client;
    private final Map<String, String> experimentIds = new HashMap<>();

    /**
     * @param trackingUri an {@code http://} or {@code https://} MLflow server
     * @param python      a Python that has {@code mlflow} installed, for artifact uploads
     */
    MlflowBackend(URI trackingUri, Path python) {
        this.trackingUri = trackingUri;
        this.python = python;
        this.client = new MlflowClient(trackingUri.toString());
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
        client.close();
    }

    /** Runs one client call, turning the client's errors into "unavailable" or "refused". */
    private <T> T call(String what, Supplier<T> body) {
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
