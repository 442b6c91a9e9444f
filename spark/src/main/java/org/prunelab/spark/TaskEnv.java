package org.prunelab.spark;

import org.prunelab.track.RunRef;

import java.io.Serializable;
import java.util.Map;

/**
 * What every task of a sweep needs besides its point: where to log and how to compute. Shipped with the tasks.
 *
 * @param sweep          the sweep's name (tag {@code prunelab.sweep} on each point run)
 * @param parent         the sweep's parent run, started by the driver
 * @param trackingUri    the MLflow server the driver's parent run reached, or null when the driver works offline (then
 *                       executors do too: a point must not reach a server its parent never did)
 * @param offlineReason  why tracking is offline, when it is
 * @param outboxDir      where an executor keeps records the server did not take; null: {@code <PRUNELAB_HOME>/mlflow-outbox}
 *                       on the executor
 * @param driverPython   the driver's Python with mlflow (artifact uploads), used where the same path exists on the executor
 * @param contextTags    the driver's context tags (git commit, prunelab version); the executor adds its own host's
 * @param threads        threads each point computes with ({@code spark.task.cpus})
 * @param executorSetup  whether each executor fetches models and corpora into its own {@code PRUNELAB_HOME} first
 * @param factory        makes the executors' {@link org.prunelab.run.RunExecutor}s
 */
record TaskEnv(String sweep, RunRef parent, String trackingUri, String offlineReason, String outboxDir, String driverPython,
               Map<String, String> contextTags, int threads, boolean executorSetup, ExecutorFactory factory)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    TaskEnv {
        contextTags = Map.copyOf(contextTags);
    }

    /** The MLflow experiment of the sweep. */
    String experiment() {
        return parent.experiment();
    }
}
