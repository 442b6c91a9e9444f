package org.prunelab.track;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * An in-memory tracking server for tests, with MLflow's semantics where replay depends on them (params
 * write-once, tags overwrite, metric points appended as sent: no server-side de-duplication, so a
 * duplicate from the client shows). It can be made to fail at an exact call, before or after the call
 * takes effect (a lost response).
 */
final class FakeBackend implements TrackingBackend {

    static final class Run {
        final String id;
        final String experimentId;
        final String name;
        final Map<String, String> tags = new TreeMap<>();
        final Map<String, String> params = new TreeMap<>();
        final List<MetricPoint> metrics = new ArrayList<>();
        final Map<String, String> artifacts = new TreeMap<>();   // artifact path -> content
        RunStatus status;

        Run(String id, String experimentId, String name) {
            this.id = id;
            this.experimentId = experimentId;
            this.name = name;
        }
    }

    final Map<String, String> experiments = new LinkedHashMap<>();
    final Map<String, Run> runs = new LinkedHashMap<>();
    private int calls;
    private int failAtCall = -1;
    private boolean failAfterEffect;
    private boolean down;

    /** From now on every call fails (server gone) until {@link #up()}. */
    void down() {
        down = true;
    }

    void up() {
        down = false;
        failAtCall = -1;
    }

    /** Call number {@code n} (counting from now, 0-based) fails; after it, every call fails. */
    void failAt(int n, boolean afterEffect) {
        failAtCall = calls + n;
        failAfterEffect = afterEffect;
    }

    int calls() {
        return calls;
    }

    private void enter() {
        if (down || (failAtCall >= 0 && calls >= failAtCall && !failAfterEffect)) {
            down = true;
            throw new TrackingUnavailableException("fake server down", null);
        }
    }

    private void leave() {
        boolean failNow = failAtCall >= 0 && calls == failAtCall && failAfterEffect;
        calls++;
        if (failNow) {
            down = true;
            throw new TrackingUnavailableException("fake server lost the response", null);
        }
    }

    @Override
    public String experimentId(String name) {
        enter();
        String id = experiments.computeIfAbsent(name, n -> Integer.toString(experiments.size() + 1));
        leave();
        return id;
    }

    @Override
    public String createRun(String experimentId, String runName, long startTimeMs, Map<String, String> tags) {
        enter();
        Run run = new Run("run" + (runs.size() + 1), experimentId, runName);
        run.tags.putAll(tags);
        runs.put(run.id, run);
        leave();
        return run.id;
    }

    @Override
    public Optional<String> findRunByKey(String experimentId, String runKey) {
        enter();
        Optional<String> id = runs.values().stream()
                .filter(r -> r.experimentId.equals(experimentId) && runKey.equals(r.tags.get(MlflowNames.RUN_KEY_TAG)))
                .map(r -> r.id).findFirst();
        leave();
        return id;
    }

    @Override
    public List<TaggedRun> runsTagged(String experimentId, String tag) {
        enter();
        List<TaggedRun> found = runs.values().stream()
                .filter(r -> r.experimentId.equals(experimentId) && r.tags.containsKey(tag))
                .map(r -> new TaggedRun(r.id, r.tags.get(tag), r.status == null ? "RUNNING" : r.status.name(), false))
                .toList();
        leave();
        return found;
    }

    @Override
    public void log(String runId, List<MetricPoint> metrics, Map<String, String> params, Map<String, String> tags) {
        enter();
        Run run = runs.get(runId);
        params.forEach((k, v) -> {
            String old = run.params.putIfAbsent(k, v);
            if (old != null && !old.equals(v)) {
                throw new org.prunelab.PrunelabException("param " + k + " changed");
            }
        });
        run.tags.putAll(tags);
        run.metrics.addAll(metrics);
        leave();
    }

    @Override
    public List<MetricPoint> metricHistory(String runId, String metricKey) {
        enter();
        List<MetricPoint> history = runs.get(runId).metrics.stream().filter(m -> m.key().equals(metricKey)).toList();
        leave();
        return history;
    }

    @Override
    public void logArtifact(String runId, Path file, String artifactPath) {
        enter();
        String path = (artifactPath == null ? "" : artifactPath + "/") + file.getFileName();
        try {
            runs.get(runId).artifacts.put(path, Files.isDirectory(file) ? "<folder>" : Files.readString(file));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        leave();
    }

    @Override
    public void endRun(String runId, RunStatus status, long endTimeMs) {
        enter();
        runs.get(runId).status = status;
        leave();
    }

    @Override
    public void close() {
    }

    /**
     * The server's content without ids or times: per run name, its parent's name, params, tags that do
     * not vary between scenarios, metric (name, value, step) points in order, artifacts and status.
     */
    String snapshot() {
        StringBuilder sb = new StringBuilder();
        runs.values().stream().sorted(java.util.Comparator.comparing(r -> r.name)).forEach(r -> {
            String parentId = r.tags.get(MlflowNames.PARENT_RUN_ID_TAG);
            sb.append(r.name).append(" parent=").append(parentId == null ? "-" : runs.get(parentId).name)
                    .append(" exp=").append(r.experimentId)
                    .append(" params=").append(r.params)
                    .append(" note=").append(r.tags.get("note"))
                    .append(" metrics=").append(r.metrics.stream().map(m -> m.key() + ":" + m.value() + "@" + m.step()).sorted().toList())
                    .append(" artifacts=").append(r.artifacts)
                    .append(" status=").append(r.status).append('\n');
        });
        return sb.toString();
    }
}
