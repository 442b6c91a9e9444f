package org.prunelab.track;

/** How a tracked run ended; the names are MLflow's run statuses. */
public enum RunStatus {
    /** The run did all its work. */
    FINISHED,
    /** The run stopped on an error. */
    FAILED,
    /** The run was stopped from outside (interrupted, cancelled). */
    KILLED
}
