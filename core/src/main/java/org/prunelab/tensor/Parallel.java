package org.prunelab.tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;

/**
 * The one shared team of worker threads for prunelab's own kernels (Vector API GEMM and matvec, attention, elementwise
 * work). A loop over [0, n) is cut into contiguous pieces, up to {@link #PIECES_PER_THREAD} per thread, which the
 * calling thread and {@code threads() - 1} workers claim one at a time from a shared counter; the caller works too, so
 * {@code threads()} cores are busy.
 *
 * <p>Why not a {@code ForkJoinPool} (the former implementation): batch-1 decoding runs a loop every 10-100
 * microseconds (q/k/v, attention, o, gate/up, down per block, the LM head), and with one fixed range per thread the
 * caller waited for the slowest, including a worker still being woken or descheduled by other work on the machine.
 * Here nothing waits for a worker that has not started: the caller claims the pieces left. An idle worker parks at once
 * by default ({@link #SPIN_NANOS}) and is unparked when a loop is published. An empty loop over 2 threads costs
 * about 0.1-0.3 us here against 7.5 us for the fork/join pool (SmolLM2 decode profile, 2 cores).
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
     * How long an idle worker spins for the next loop before it parks, nanoseconds: system property
     * {@code prunelab.spinMicros}, default 0. Spinning was measured to cost, not save, on a shared machine: SmolLM2-135M
     * decode on 2 cores at load average 6-8 ran at 38.6 tokens/s parking at once, 34.5 spinning 10 us, 29.2 at 50 us
     * and 21.9 at 200 us (DecodeProfile, alternating in one JVM): a spinning worker holds a core that the caller or
     * another process needed. Since the caller claims pieces too, a worker that wakes late only takes fewer of them.
     */
    static final long SPIN_NANOS = Long.getLong("prunelab.spinMicros", 0) * 1000;
    /** Pieces per thread a loop is cut into when its range allows, so threads that start late or run slow even out. */
    private static final int PIECES_PER_THREAD = 4;

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
        return Thread.currentThread() instanceof Worker;
    }

    /**
     * Runs {@code body} over [0, n) split into contiguous ranges, each at least {@code minChunk} long (at most
     * {@link #threads()} x {@link #PIECES_PER_THREAD} of them), possibly concurrently; every index is in exactly one range.
     * Runs inline when one range suffices, when called from a worker, or while the team runs another loop (nested
     * parallelism would only oversubscribe the cores). An exception thrown by a range is rethrown here after every
     * range has finished.
     */
    public static void forRange(int n, int minChunk, RangeBody body) {
        if (n <= 0) return;
        int pieces = Math.min(threads * PIECES_PER_THREAD, Math.max(1, n / Math.max(1, minChunk)));
        Team t = team;
        if (pieces <= 1 || t == null || inWorker() || !t.tryRun(n, pieces, body)) body.run(0, n);
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

    /**
     * One parallel loop: [0, n) cut into {@code pieces} contiguous pieces, which the caller and the workers claim one
     * at a time from a shared counter. The caller claims too, so a worker that is slow to arrive (descheduled on a busy
     * machine) delays nothing: the caller takes its pieces. A worker that arrives after the loop ended claims nothing.
     */
    private static final class Loop {
        private static final VarHandle NEXT, DONE;

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.lookup();
                NEXT = l.findVarHandle(Loop.class, "next", int.class);
                DONE = l.findVarHandle(Loop.class, "done", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final RangeBody body;
        final int n;
        final int pieces;
        @SuppressWarnings("unused") private volatile int next;
        private volatile int done;
        private volatile Throwable failure;
        /** The caller, once it parks to wait for pieces still running on workers. */
        private volatile Thread waiter;

        Loop(RangeBody body, int n, int pieces) {
            this.body = body;
            this.n = n;
            this.pieces = pieces;
        }

        /** Claims and runs pieces until none is left. */
        void work() {
            int p;
            while ((p = (int) NEXT.getAndAdd(this, 1)) < pieces) {
                try {
                    body.run((int) ((long) n * p / pieces), (int) ((long) n * (p + 1) / pieces));
                } catch (Throwable e) {
                    if (failure == null) failure = e;
                }
                if ((int) DONE.getAndAdd(this, 1) + 1 == pieces) {
                    Thread w = waiter;
                    if (w != null) LockSupport.unpark(w);
                }
            }
        }

        /** Waits until every piece has finished (spinning briefly, then parked), then rethrows a piece's failure. */
        void awaitDone() {
            long spinStart = System.nanoTime();
            int spins = 0;
            while (done != pieces) {
                if ((++spins & 63) != 0 || System.nanoTime() - spinStart < WAIT_SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    waiter = Thread.currentThread();
                    // Re-checked after announcing the wait: either the last piece's worker sees waiter, or this sees done.
                    while (done != pieces) LockSupport.park(this);
                }
            }
            Throwable f = failure;
            if (f instanceof RuntimeException r) throw r;
            if (f instanceof Error e) throw e;
            if (f != null) throw new IllegalStateException(f);
        }
    }

    /**
     * How long a caller spins for pieces still running on workers before it parks, nanoseconds: a worker's last piece
     * usually ends within microseconds of the caller's, and parking adds a wake-up on top.
     */
    private static final long WAIT_SPIN_NANOS = 50_000;

    /** The workers and the loop they serve; the caller of a loop works on it too. */
    private static final class Team {
        private final Worker[] workers;
        private final AtomicBoolean busy = new AtomicBoolean();
        /** The latest loop; workers wait for it to change. */
        private volatile Loop current;
        private volatile boolean shutdown;

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
        boolean tryRun(int n, int pieces, RangeBody body) {
            if (!busy.compareAndSet(false, true)) return false;
            try {
                Loop loop = new Loop(body, n, pieces);
                current = loop;
                for (Worker w : workers) {
                    if (w.parked) LockSupport.unpark(w);
                }
                loop.work();
                loop.awaitDone();
                return true;
            } finally {
                busy.set(false);
            }
        }

        void shutdown() {
            shutdown = true;
            for (Worker w : workers) LockSupport.unpark(w);
        }
    }

    private static final class Worker extends Thread {
        private final Team team;
        /** Set before the worker parks; a caller that publishes a loop unparks the workers it sees parked. */
        volatile boolean parked;

        Worker(Team team, int member) {
            super("prunelab-worker-" + member);
            this.team = team;
            setDaemon(true);
        }

        @Override
        public void run() {
            Loop seen = null;
            while (!team.shutdown) {
                Loop loop = awaitLoop(seen);
                if (loop == null) return;
                seen = loop;
                loop.work();
            }
        }

        /** Spins for {@link #SPIN_NANOS} waiting for a loop other than {@code seen}, then parks; null on shutdown. */
        private Loop awaitLoop(Loop seen) {
            Loop l;
            long spinStart = System.nanoTime();
            int spins = 0;
            while ((l = team.current) == seen) {
                if (team.shutdown) return null;
                if ((++spins & 63) != 0 || System.nanoTime() - spinStart < SPIN_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                parked = true;
                // Re-checked after announcing the park: either the caller sees parked and unparks, or this sees the loop.
                if (team.current == seen && !team.shutdown) LockSupport.park(this);
                parked = false;
                spinStart = System.nanoTime();
            }
            return team.shutdown ? null : l;
        }
    }
}
