package org.prunelab;

/**
 * Receives progress of long work (windows evaluated, blocks pruned). Core code reports through this
 * interface and never prints; the CLI draws a bar on stderr, the notebook kernel updates a cell.
 * Implementations must be cheap: {@link #update} may be called once per window or block.
 */
@FunctionalInterface
public interface Progress {

    /**
     * @param done  units finished so far (0..total)
     * @param total units in all
     * @param label what is being counted, e.g. "windows" or "block 3/30"
     */
    void update(long done, long total, String label);

    /** Called once when the work ends, successfully or not. */
    default void finish() {}

    /** A listener that ignores everything. */
    Progress NONE = (done, total, label) -> {};
}
