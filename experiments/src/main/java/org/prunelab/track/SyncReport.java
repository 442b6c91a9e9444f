package org.prunelab.track;

import java.util.List;

/**
 * What one sync of the outbox did ({@link Tracker#sync()}).
 *
 * @param filesSynced outbox files fully sent and removed
 * @param recordsSent records applied to the server by this sync
 * @param filesBusy   files skipped because a live tracker is still writing them
 * @param problems    one line per file that could not be finished (it stays for the next sync); empty when
 *                    everything went through
 */
public record SyncReport(int filesSynced, int recordsSent, int filesBusy, List<String> problems) {
    public SyncReport {
        problems = List.copyOf(problems);
    }

    /** True when nothing was left behind except files still being written. */
    public boolean complete() {
        return problems.isEmpty();
    }
}
