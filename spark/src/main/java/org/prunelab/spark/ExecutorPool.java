package org.prunelab.spark;

import org.prunelab.run.RunExecutor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The run executors of one Spark executor JVM, kept across tasks so that an executor loads its model, corpora and dense
 * baselines once and runs point after point on them, as the in-process sweep does. A {@link RunExecutor} is not
 * thread-safe, so each task slot borrows one of its own: an executor with {@code spark.executor.cores=2} (or
 * {@code local[2]}) holds up to two. A task borrows the idle one that last ran its model if there is one.
 */
final class ExecutorPool {
    private record Idle(RunExecutor executor, String model) {}

    private static final Map<String, Deque<Idle>> IDLE = new HashMap<>();

    private ExecutorPool() {}

    /** An executor for a point on {@code model}: an idle one of {@code factory}'s (its last model preferred) or a new one. */
    static RunExecutor borrow(ExecutorFactory factory, String model) {
        String id = factory.id();
        synchronized (IDLE) {
            Deque<Idle> idle = IDLE.computeIfAbsent(id, k -> new ArrayDeque<>());
            for (Iterator<Idle> it = idle.iterator(); it.hasNext(); ) {
                Idle i = it.next();
                if (i.model().equals(model)) {
                    it.remove();
                    return i.executor();
                }
            }
            if (!idle.isEmpty()) return idle.pop().executor();
        }
        return factory.create();
    }

    /** Gives an executor back after a point that ran to its end (finished, or refused as a bad point before loading). */
    static void release(ExecutorFactory factory, RunExecutor executor, String model) {
        synchronized (IDLE) {
            IDLE.computeIfAbsent(factory.id(), k -> new ArrayDeque<>()).push(new Idle(executor, model));
        }
    }

    /** How many executors are idle in this JVM (all factories). */
    static int idleCount() {
        synchronized (IDLE) {
            return IDLE.values().stream().mapToInt(Deque::size).sum();
        }
    }

    /**
     * Closes every idle executor (the driver calls it after a local-mode job, whose executor is its own JVM, so the
     * models do not outlive the sweep).
     */
    static void closeAll() {
        List<RunExecutor> all = new ArrayList<>();
        synchronized (IDLE) {
            IDLE.values().forEach(d -> d.forEach(i -> all.add(i.executor())));
            IDLE.clear();
        }
        all.forEach(RunExecutor::close);
    }
}
