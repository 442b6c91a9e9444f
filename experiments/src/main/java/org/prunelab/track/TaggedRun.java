package org.prunelab.track;

/**
 * A run found by one of its tags ({@link Tracker#runsTagged}).
 *
 * @param runId   MLflow's run id; null for a run that so far exists only in the outbox
 * @param value   the tag's value
 * @param status  MLflow's status: {@code RUNNING}, {@code FINISHED}, {@code FAILED}, {@code KILLED}, ...
 * @param inOutbox true when the run was found in the outbox rather than on the server
 */
public record TaggedRun(String runId, String value, String status, boolean inOutbox) {
    /** Whether the run ended with all its work done. */
    public boolean finished() {
        return RunStatus.FINISHED.name().equals(status);
    }
}
