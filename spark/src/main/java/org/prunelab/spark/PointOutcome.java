package org.prunelab.spark;

import java.io.Serializable;

/**
 * What a task sends back to the driver for its point.
 *
 * @param index      the task's {@link PointTask#index()}
 * @param status     what happened
 * @param resultJson the point's {@link org.prunelab.run.RunResult} as JSON ({@link Status#FINISHED}), else null
 * @param message    why the point failed ({@link Status#FAILED}), or which run finished it ({@link Status#ALREADY_FINISHED})
 * @param runId      the MLflow run id of the point's run, when it reached the server
 * @param attempt    Spark's attempt number of the task that sent this (0 for the first)
 * @param executor   the Spark executor id and host that ran it
 */
record PointOutcome(int index, Status status, String resultJson, String message, String runId, int attempt, String executor)
        implements Serializable {
    private static final long serialVersionUID = 1L;

    enum Status {
        /** Ran and logged now. */
        FINISHED,
        /** A bad point (a {@link org.prunelab.PrunelabException}: it would fail again), logged FAILED; not retried. */
        FAILED,
        /**
         * Another attempt had already logged the point FINISHED (an attempt whose executor was lost after logging, or
         * a zombie attempt): nothing was run or logged again.
         */
        ALREADY_FINISHED
    }
}
