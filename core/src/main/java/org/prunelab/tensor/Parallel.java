package org.prunelab.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * The one shared worker pool for prunelab's own kernels (Vector API GEMM, attention, elementwise work).
 * Work is split into contiguous row ranges, one per thread; the calling thread runs one range itself, so
 * a pool of {@code threads() - 1} workers keeps exactly {@code threads()} cores busy.
 *
 * <p>The thread count is the only mutable static setting of the tensor package. It defaults to the system
 * property {@code prunelab.threads}, else {@link Runtime#availableProcessors()}. Native BLAS threads are
 * separate: by default a large product runs on OpenBLAS's own threads, {@link #threads()} of them (see
 * {@link Gemm.BlasThreading} for the alternative), unless {@code OPENBLAS_NUM_THREADS} fixes their count.
 */
public final class Parallel {
    private static volatile int threads = defaultThreads();
    private static volatile ForkJoinPool pool = newPool(threads);

    private Parallel() {}

    /** Body of a parallel loop: processes the half-open range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    /** Number of threads parallel loops use (at least 1). */
    public static int threads() {
        return threads;
    }

    /**
     * Sets how many threads parallel loops use, replacing the worker pool.
     *
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("thread count must be at least 1, got " + n);
        ForkJoinPool old = pool;
        pool = newPool(n);
        threads = n;
        if (old != null) old.shutdown();
    }

    /**
     * Runs {@code body} over [0, n) split into at most {@link #threads()} contiguous ranges, each at least
     * {@code minChunk} long. Runs inline when one range suffices or when called from a pool worker (nested
     * parallelism would only oversubscribe the cores). Exceptions thrown by a range are rethrown here.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        int t = threads;
        int chunks = Math.min(t, Math.max(1, n / Math.max(1, minChunk)));
        ForkJoinPool p = pool;
        if (chunks <= 1 || p == null || ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        List<ForkJoinTask<?>> forked = new ArrayList<>(chunks - 1);
        for (int c = 1; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks);
            int to = (int) ((long) n * (c + 1) / chunks);
            forked.add(p.submit(() -> body.run(from, to)));
        }
        body.run(0, (int) ((long) n / chunks));
        for (ForkJoinTask<?> task : forked) task.join();
    }

    private static int defaultThreads() {
        String prop = System.getProperty("prunelab.threads");
        if (prop != null && !prop.isBlank()) {
            try {
                int n = Integer.parseInt(prop.trim());
                if (n >= 1) return n;
            } catch (NumberFormatException ignored) {
                // fall through to the processor count
            }
        }
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    private static ForkJoinPool newPool(int n) {
        if (n <= 1) return null;
        return new ForkJoinPool(n - 1, pool -> {
            var worker = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            worker.setDaemon(true);
            worker.setName("prunelab-worker-" + worker.getPoolIndex());
            return worker;
        }, null, false);
    }
}
