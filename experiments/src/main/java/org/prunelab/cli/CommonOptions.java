package org.prunelab.cli;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.Parallel;
import picocli.CommandLine.Option;

/** Options every compute subcommand takes: {@code --json} and {@code --threads}. */
final class CommonOptions {
    @Option(names = "--json", description = "Print one JSON object on stdout (progress stays on stderr).")
    boolean json;

    @Option(names = "--threads", description = "Threads for the products (default: all cores). Large BLAS products run on "
            + "this many OpenBLAS threads (unless OPENBLAS_NUM_THREADS is set); attention and elementwise work on this many Java threads.")
    Integer threads;

    /** Applies the thread setting; call first in {@code call()}. */
    void apply() {
        if (threads != null) {
            if (threads < 1) throw new PrunelabException.InvalidArgument("--threads must be at least 1, got " + threads);
            Parallel.setThreads(threads);
        }
    }

    int threads() {
        return threads != null ? threads : Parallel.threads();
    }
}
