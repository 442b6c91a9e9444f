package org.prunelab.spark;

/** The MLflow tags the Spark engine adds to its runs (beside {@link org.prunelab.track.MlflowNames}'s). */
final class SparkTags {
    private SparkTags() {}

    /** {@code spark} on a sweep's parent run and on each point run it ran. */
    static final String ENGINE = "prunelab.engine";
    /** The Spark master of the sweep (parent run). */
    static final String MASTER = "prunelab.spark.master";
    /** The Spark application id (parent run). */
    static final String APP_ID = "prunelab.spark.app_id";
    /** Spark's attempt number of the task that made a point run (0 for the first). */
    static final String ATTEMPT = "prunelab.spark.attempt";
    /** The executor id and host that ran a point. */
    static final String EXECUTOR = "prunelab.spark.executor";
    /** On a point run ended KILLED because another attempt had logged the same point FINISHED first. */
    static final String DUPLICATE_OF = "prunelab.spark.duplicate_of";
    /** On a point run logged without its artifacts (no Python with mlflow on the executor), with the reason. */
    static final String ARTIFACTS_SKIPPED = "prunelab.spark.artifacts_skipped";
}
