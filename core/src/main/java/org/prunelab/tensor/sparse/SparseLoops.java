package org.prunelab.tensor.sparse;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * The one place the sparse kernels go parallel: splits a range of weight rows into contiguous chunks
 * and runs them on the common fork/join pool, the calling thread taking the first chunk.
 *
 * <p>Every kernel in this package calls {@link #forRows} and nothing else, so switching to a shared
 * project-wide pool means changing this class only. The thread count is read once from the system
 * property {@code prunelab.threads} (default: available processors); benchmarks set it to compare 1
 * and 2 threads. Small products stay on the caller's thread: a fork costs microseconds, about what a
 * 576x576 sparse matvec takes.
 */
public final class SparseLoops {
    /** Multiply-adds below which a product is not split (a fork/join round trip is ~2-5 us). */
    private static final long MIN_WORK_PER_CHUNK = 32_768;

    private static final int THREADS =
            Math.max(1, Integer.getInteger("prunelab.threads", Runtime.getRuntime().availableProcessors()));

    private SparseLoops() {}

    /** A body that handles weight rows {@code [from, to)}. */
    @FunctionalInterface
    public interface RowRange {
        void run(int from, int to);
    }

    /** Threads a product may use (the {@code prunelab.threads} property, at least 1). */
    public static int threads() {
        return THREADS;
    }

    /**
     * Runs {@code body} over rows {@code [0, rows)}, split into at most {@link #threads()} contiguous
     * chunks when the total work is large enough to pay for the split.
     *
     * @param rows      number of rows
     * @param totalWork multiply-adds of the whole product (decides whether to split)
     * @param body      called once per chunk, possibly concurrently; chunks do not overlap
     */
    public static void forRows(int rows, long totalWork, RowRange body) {
        int chunks = (int) Math.min(Math.min(THREADS, rows), Math.max(1, totalWork / MIN_WORK_PER_CHUNK));
        if (chunks <= 1) {
            body.run(0, rows);
            return;
        }
        ForkJoinTask<?>[] forked = new ForkJoinTask<?>[chunks - 1];
        for (int i = 1; i < chunks; i++) {
            int from = (int) ((long) rows * i / chunks);
            int to = (int) ((long) rows * (i + 1) / chunks);
            forked[i - 1] = ForkJoinPool.commonPool().submit(() -> body.run(from, to));
        }
        body.run(0, (int) ((long) rows / chunks));
        for (ForkJoinTask<?> task : forked) task.join();
    }
}
