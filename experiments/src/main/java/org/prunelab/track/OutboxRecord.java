package org.prunelab.track;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One tracking call written to the {@link Outbox} instead of the server, as one JSON line. Every record
 * names its run by {@code runKey}, a client-made id that is also set on the MLflow run as the tag
 * {@value MlflowNames#RUN_KEY_TAG}; replay finds the server's run through that tag, which is what makes
 * replay exactly-once. In an outbox file a run's {@link StartRun} always comes before its other records.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
@JsonSubTypes({
        @JsonSubTypes.Type(value = OutboxRecord.StartRun.class, name = "start_run"),
        @JsonSubTypes.Type(value = OutboxRecord.LogParams.class, name = "log_params"),
        @JsonSubTypes.Type(value = OutboxRecord.LogMetrics.class, name = "log_metrics"),
        @JsonSubTypes.Type(value = OutboxRecord.SetTags.class, name = "set_tags"),
        @JsonSubTypes.Type(value = OutboxRecord.LogArtifact.class, name = "log_artifact"),
        @JsonSubTypes.Type(value = OutboxRecord.EndRun.class, name = "end_run"),
})
public sealed interface OutboxRecord {
    /** The client-made key of the run this record belongs to. */
    String runKey();

    /**
     * A run to create, or to find when it was already created before the server went away.
     *
     * @param runId       the server's run id when the run was created online, else null
     * @param parentKey   the parent run's key for a nested run, else null
     * @param parentRunId the parent's server run id when known at the time, else null
     * @param tags        the tags the run is created with (context tags, run key, run name)
     */
    record StartRun(String runKey, String experiment, String runName, String runId, String parentKey,
                    String parentRunId, long startTimeMs, Map<String, String> tags) implements OutboxRecord {
        public StartRun {
            Objects.requireNonNull(runKey, "runKey");
            Objects.requireNonNull(experiment, "experiment");
            tags = Map.copyOf(tags);
        }
    }

    /** Parameters (MLflow params are write-once: logging the same value again is harmless). */
    record LogParams(String runKey, Map<String, String> params) implements OutboxRecord {
        public LogParams {
            Objects.requireNonNull(runKey, "runKey");
            params = Map.copyOf(params);
        }
    }

    /** Metric points, with the timestamps taken when they were measured. */
    record LogMetrics(String runKey, List<MetricPoint> metrics) implements OutboxRecord {
        public LogMetrics {
            Objects.requireNonNull(runKey, "runKey");
            metrics = List.copyOf(metrics);
        }
    }

    /** Tags (setting a tag again overwrites it). */
    record SetTags(String runKey, Map<String, String> tags) implements OutboxRecord {
        public SetTags {
            Objects.requireNonNull(runKey, "runKey");
            tags = Map.copyOf(tags);
        }
    }

    /**
     * A file to upload. {@code stagedFile} is relative to the outbox folder: the outbox keeps its own
     * copy, since the original may be a temporary file gone by the time of replay.
     *
     * @param artifactPath the folder inside the run's artifacts, or null for the top level
     */
    record LogArtifact(String runKey, String stagedFile, String artifactPath) implements OutboxRecord {
        public LogArtifact {
            Objects.requireNonNull(runKey, "runKey");
            Objects.requireNonNull(stagedFile, "stagedFile");
        }
    }

    /** The end of the run, with its status and end time (milliseconds since the epoch). */
    record EndRun(String runKey, RunStatus status, long endTimeMs) implements OutboxRecord {
        public EndRun {
            Objects.requireNonNull(runKey, "runKey");
            Objects.requireNonNull(status, "status");
        }
    }
}
