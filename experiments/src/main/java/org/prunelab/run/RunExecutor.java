package org.prunelab.run;

import org.prunelab.Progress;

import java.nio.file.Path;

/**
 * Runs one {@link RunSpec}: prune, evaluate, measure. {@link Pipeline} is the real one (every entry point uses it);
 * tracking tests use small fakes to stop a sweep at an exact point.
 */
public interface RunExecutor extends AutoCloseable {

    /**
     * Runs {@code spec} and writes its files ({@code prune_report.json}, {@code run_spec.yaml}, and the token ids
     * of its windows) into {@code workDir}.
     *
     * @param progress told about the run's stages (label says which)
     * @throws org.prunelab.PrunelabException when the run cannot be done (bad dataset, seqlen too long, ...)
     */
    RunResult run(RunSpec spec, Path workDir, Progress progress);

    /** One line per measurement setting (speed, threads), for result files. */
    String describe();

    @Override
    void close();
}
