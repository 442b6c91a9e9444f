package org.prunelab.tensor;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The one shared team of worker threads for prunelab's own kernels (Vector API GEMM, attention, elementwise work).
 * Work is split into contiguous row ranges, one per thread; the calling thread runs the first range itself, so a team
 * of {@code threads() - 1} workers keeps exactly {@code threads()} cores busy.
 *
 * <p>Why not a {@code ForkJoinPool}: batch-1 decoding issues a parallel loop every 10-100 microseconds (one per
 * linear layer, attention, LM head), and waking a parked pool worker costs several microseconds of each, while the
 * caller waits for the slowest range. The workers here spin on a generation counter for a short while after each loop
 * ({@link #SPIN_NANOS}) before they park, as llama.cpp's threads spin at the barrier between ops, so back-to-back loops
 * start at the cost of a cache-line handover. A worker that has parked is woken with {@link LockSupport#unpark}.
 *
 * <p>One loop runs on the team at a time. A loop started while the team is busy (another thread's loop, or a loop
 * nested inside a range) runs its whole range inline on the calling thread; so does a loop started from a worker.
 *
 * <p>The thread count is the only mutable static setting of the tensor package. It defaults to the system
 * property {@code prunelab.threads}, else {@link Runtime#availableProcessors()}. Native BLAS threads are
 * separate: by default a large product runs on OpenBLAS's own threads, {@link #threads()} of them (see
 * {@link Gemm.BlasThreading} for the alternative), unless {@code OPENBLAS_NUM_THREADS} fixes their count.
 */
public final class Parallel {
    /**
     * How long an idle worker spins before it parks, nanoseconds. Decode's loops come microseconds apart, so they
     * never see a parked worker; prefill's BLAS products (on OpenBLAS's own threads) lose at most this much of a core.
     */
    static final long SPIN_NANOS = Long.getLong("prunelab.spinMicros", 200) * 1000;

    private static volatile int threads = defaultThreads();
    private static volatile Team team = Team.of(threads);

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
     * Sets how many threads parallel loops use, replacing the worker team.
     *
     * @throws IllegalArgumentException if {@code n < 1}
     */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("thread count must be at least 1, got " + n);
        Team old = team;
        team = Team.of(n);
        threads = n;
        if (old != null) old.shutdown();
    }

    /** Whether the calling thread is one of the team's workers (a loop started here runs inline). */
    public static boolean inWorker() {
        if (DecodeExperiment.forkJoin) return java.util.concurrent.ForkJoinTask.inForkJoinPool();
        return Thread.currentThread() instanceof Worker;
    }

    /**
     * Runs {@code body} over [0, n) split into at most {@link #threads()} contiguous ranges, each at least
     * {@code minChunk} long. Runs inline when one range suffices, when called from a worker, or while the team runs
     * another loop (nested parallelism would only oversubscribe the cores). Exceptions thrown by a range are rethrown
     * here, after every range has finished.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        int chunks = Math.min(threads, Math.max(1, n / Math.max(1, minChunk)));
        if (DecodeExperiment.forkJoin) {
            legacy(n, chunks, body);
            return;
        }
        Team t = team;
        if (chunks <= 1 || t == null || inWorker() || !t.tryRun(n, chunks, body)) body.run(0, n);
    }

    // EXPERIMENT (removed before merge): the former ForkJoinPool dispatch, for A/B timing in one build.
    private static final java.util.concurrent.ForkJoinPool FJ = new java.util.concurrent.ForkJoinPool(
            Math.max(1, threads - 1), p -> {
                var w = java.util.concurrent.ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
                w.setDaemon(true);
                return w;
            }, null, false);

    private static void legacy(int n, int chunks, RangeBody body) {
        if (chunks <= 1 || java.util.concurrent.ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        java.util.List<java.util.concurrent.ForkJoinTask<?>> forked = new java.util.ArrayList<>(chunks - 1);
        for (int c = 1; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks);
            int to = (int) ((long) n * (c + 1) / chunks);
            forked.add(FJ.submit(() -> body.run(from, to)));
        }
        body.run(0, (int) ((long) n / chunks));
        for (var task : forked) task.join();
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

    /** Workers 1..size-1 and the loop they share; the caller of a loop is member 0. */
    private static final class Team {
        private final Worker[] workers;
        private final AtomicBoolean busy = new AtomicBoolean();
        private final AtomicInteger pending = new AtomicInteger();
        /** Bumped (a volatile write) after the loop's fields below are set, so a worker that sees it sees them. */
        private volatile long generation;
        private volatile boolean shutdown;
        private RangeBody body;
        private int n;
        private int chunks;
        private volatile Throwable failure;

        private Team(int size) {
            workers = new Worker[size - 1];
            for (int i = 0; i < workers.length; i++) {
                workers[i] = new Worker(this, i + 1);
                workers[i].start();
            }
        }

        static Team of(int size) {
            return size <= 1 ? null : new Team(size);
        }

        /** Runs the loop on the team, or returns false without running anything if the team is busy. */
        boolean tryRun(int n, int chunks, RangeBody body) {
            if (!busy.compareAndSet(false, true)) return false;
            try {
                this.body = body;
                this.n = n;
                this.chunks = chunks;
                failure = null;
                pending.set(workers.length);
                generation = generation + 1; // publishes the fields above
                for (Worker w : workers) {
                    if (w.parked) LockSupport.unpark(w);
                }
                Throwable own = null;
                try {
                    body.run(0, (int) ((long) n / chunks));
                } catch (Throwable e) {
                    own = e;
                }
                awaitWorkers();
                this.body = null;
                Throwable f = own != null ? own : failure;
                if (f instanceof RuntimeException r) throw r;
                if (f instanceof Error e) throw e;
                if (f != null) throw new IllegalStateException(f);
                return true;
            } finally {
                busy.set(false);
            }
        }

        private void awaitWorkers() {
            long spins = 0;
            while (pending.get() != 0) {
                // A worker descheduled by a busy machine can take a while; stop burning the core after a millisecond.
                if (++spins < 100_000) Thread.onSpinWait();
                else Thread.yield();
            }
        }

        /** Runs this member's range of the current loop (members past the loop's range count do nothing). */
        void runMember(int member) {
            try {
                int c = chunks;
                if (member < c) {
                    int from = (int) ((long) n * member / c);
                    int to = (int) ((long) n * (member + 1) / c);
                    body.run(from, to);
                }
            } catch (Throwable e) {
                if (failure == null) failure = e;
            } finally {
                pending.decrementAndGet();
            }
        }

        void shutdown() {
            shutdown = true;
            generation = generation + 1;
            for (Worker w : workers) LockSupport.unpark(w);
        }
    }

    private static final class Worker extends Thread {
        private final Team team;
        private final int member;
        /** Set before the worker parks; the caller unparks a worker it sees parked after bumping the generation. */
        volatile boolean parked;

        Worker(Team team, int member) {
            super("prunelab-worker-" + member);
            this.team = team;
            this.member = member;
            setDaemon(true);
        }

        @Override
        public void run() {
            long seen = 0; // the generation the team was created with; read here, a loop started before this thread ran would be missed
            while (true) {
                long g = awaitGeneration(seen);
                if (team.shutdown) return;
                seen = g;
                team.runMember(member);
            }
        }

        /** Spins for {@link #SPIN_NANOS} waiting for a generation other than {@code seen}, then parks. */
        private long awaitGeneration(long seen) {
            long g;
            long spinStart = System.nanoTime();
            int spins = 0;
            while ((g = team.generation) == seen) {
                if ((++spins & 63) != 0 || System.nanoTime() - spinStart < SPIN_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;
                // Re-checked after announcing the park: either the caller sees parked and unparks, or this sees g.
                if (team.generation == seen) LockSupport.park(this);
                parked = false;
                spinStart = System.nanoTime();
            }
            return g;
        }
    }
}
