package org.prunelab.track;

import java.io.Serializable;
import java.util.Map;
import java.util.Objects;

/**
 * A run started by one process, as another process needs it to nest runs under it: a Spark driver starts the
 * sweep's parent run and hands this to the executors, which start the point runs under it
 * ({@link Tracker#attach}). Plain data, serialisable (Spark ships it in a task).
 *
 * @param key          the client-made run key (tag {@value MlflowNames#RUN_KEY_TAG})
 * @param experiment   the run's experiment
 * @param name         the run's name
 * @param runId        the server's run id, or null when the run exists only in an outbox
 * @param startTimeMs  when the run started, milliseconds since the epoch
 * @param creationTags the tags the run was created with (what an outbox replay creates it with if the server has
 *                     never seen it)
 */
public record RunRef(String key, String experiment, String name, String runId, long startTimeMs,
                     Map<String, String> creationTags) implements Serializable {
    public RunRef {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(experiment, "experiment");
        creationTags = Map.copyOf(creationTags);
    }
}
