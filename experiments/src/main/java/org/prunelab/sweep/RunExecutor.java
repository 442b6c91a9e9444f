package org.prunelab.sweep;

import org.prunelab.Progress;

import java.nio.file.Path;

/**
 * Runs one sweep point: prune, evaluate, measure. {@link ModelRunExecutor} is the real one; tests use
 * small fakes to stop a sweep at an exact point.
 */
public interface RunExecutor extends AutoCloseable {

    /**
     * Runs {@code spec} and writes {@code prune_report.json} into {@code workDir}.
     *
     * @param progress told about the point's stages (label says which)
     * @throws org.prunelab.PrunelabException when the point cannot be run (bad dataset, seqlen too long, ...)
     */
    PointResult run(RunSpec spec, Path workDir, Progress progress);

    /** One line per measurement setting (speed probe, threads), for result files. */
    String describe();

    @Override
    void close();
}
