package org.prunelab.track;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The calls prunelab makes to a tracking server. {@link MlflowBackend} is the real one; tests use a
 * fake to inject failures at exact points. Every method throws {@link TrackingUnavailableException} when
 * the server cannot be reached (the call may or may not have taken effect), and a
 * {@link org.prunelab.PrunelabException} when the server refuses the request itself.
 */
interface TrackingBackend extends AutoCloseable {

    /** The id of the experiment called {@code name}, creating it if it does not exist. */
    String experimentId(String name);

    /** Creates a run and returns its id. {@code tags} must include {@value MlflowNames#RUN_KEY_TAG}. */
    String createRun(String experimentId, String runName, long startTimeMs, Map<String, String> tags);

    /** The active run of the experiment whose {@value MlflowNames#RUN_KEY_TAG} tag is {@code runKey}. */
    Optional<String> findRunByKey(String experimentId, String runKey);

    /** Every active run of the experiment that carries {@code tag}, with the tag's value and the run's status. */
    List<TaggedRun> runsTagged(String experimentId, String tag);

    /** Logs metrics, params and tags in one batch. */
    void log(String runId, List<MetricPoint> metrics, Map<String, String> params, Map<String, String> tags);

    /** Every stored point of one metric of a run. */
    List<MetricPoint> metricHistory(String runId, String metricKey);

    /** Uploads one file into the run's artifacts, under {@code artifactPath} (null: top level). */
    void logArtifact(String runId, Path file, String artifactPath);

    /** Marks the run ended. */
    void endRun(String runId, RunStatus status, long endTimeMs);

    @Override
    void close();
}
