package org.prunelab.cli;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.Parallel;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Options every compute subcommand takes: {@code --json} and {@code --threads}. */
final class CommonOptions {
    @Option(names = "--json", description = "Print one JSON object on stdout (progress stays on stderr).")
    boolean json;

    @Option(names = "--threads", description = "Threads for the products (default: all cores). Large BLAS products run on "
            + "this many OpenBLAS threads (unless OPENBLAS_NUM_THREADS is set); attention and elementwise work on this many Java threads.")
    Integer threads;

    @Spec(Spec.Target.MIXEE) CommandSpec mixee;

    /**
     * Applies the thread setting; call first in {@code call()}. More threads than cores is allowed (a user may know
     * better than {@code availableProcessors}), with a warning: the threads take turns on the cores, and every parallel
     * loop waits for its slowest piece, so decode in particular slows down.
     *
     * @throws PrunelabException.InvalidArgument if --threads is below 1
     */
    void apply() {
        if (threads != null) {
            if (threads < 1) throw new PrunelabException.InvalidArgument("--threads must be at least 1, got " + threads);
            int cores = Runtime.getRuntime().availableProcessors();
            if (threads > cores && mixee != null) {
                mixee.commandLine().getErr().println("warning: --threads " + threads + " is more than the " + cores
                        + " cores this process may use: the threads take turns on the cores and every product waits for"
                        + " the slowest of them, so it runs slower, not faster; --threads " + cores + " or fewer uses the"
                        + " machine fully");
            }
            Parallel.setThreads(threads);
        }
    }

    int threads() {
        return threads != null ? threads : Parallel.threads();
    }
}
