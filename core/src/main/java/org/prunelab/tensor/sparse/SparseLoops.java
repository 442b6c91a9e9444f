package org.prunelab.tensor.sparse;

import org.prunelab.tensor.Parallel;

/**
 * The one place the sparse kernels go parallel: splits a range of weight rows over the shared
 * {@link Parallel} pool (so {@code --threads} governs them like every other kernel). Small products stay
 * on the caller's thread: a fork costs microseconds, about what a 576x576 sparse matvec takes.
 */
public final class SparseLoops {
    /** Multiply-adds below which a product is not split (a fork/join round trip is ~2-5 us). */
    private static final long MIN_WORK_PER_CHUNK = 32_768;

    private SparseLoops() {}

    /** A body that handles weight rows {@code [from, to)}. */
    @FunctionalInterface
    public interface RowRange {
        void run(int from, int to);
    }

    /** Threads a product may use: {@link Parallel#threads()}. */
    public static int threads() {
        return Parallel.threads();
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
        if (rows <= 0) return;
        long chunks = Math.min(Math.min(threads(), rows), Math.max(1, totalWork / MIN_WORK_PER_CHUNK));
        // Parallel.forRange splits n into at most n / minChunk ranges; this minChunk yields `chunks` ranges.
        int minChunk = (int) Math.max(1, rows / chunks);
        Parallel.forRange(rows, minChunk, body::run);
    }
}
