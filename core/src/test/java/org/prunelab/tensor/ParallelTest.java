package org.prunelab.tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** The worker team: every index once, exceptions from any range, nested and concurrent loops, a new thread count. */
class ParallelTest {
    @AfterEach
    void restoreThreads() {
        Parallel.setThreads(Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    @Test
    void everyIndexRunsExactlyOnceForManyBackToBackLoops() {
        Parallel.setThreads(3);
        for (int n : new int[]{1, 2, 3, 5, 64, 1000}) {
            for (int rep = 0; rep < 200; rep++) {
                AtomicIntegerArray hits = new AtomicIntegerArray(n);
                Parallel.forRange(n, 1, (from, to) -> {
                    for (int i = from; i < to; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertThat(hits.get(i)).as("n %d index %d", n, i).isEqualTo(1);
            }
        }
    }

    @Test
    void aLoopRightAfterANewThreadCountIsNotMissedByWorkersThatHaveNotStartedYet() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int rep = 0; rep < 100; rep++) {
                Parallel.setThreads(2 + rep % 2);
                AtomicIntegerArray hits = new AtomicIntegerArray(3);
                Parallel.forRange(3, 1, (from, to) -> {
                    for (int i = from; i < to; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < 3; i++) assertThat(hits.get(i)).isEqualTo(1);
            }
        });
    }

    @Test
    void anExceptionInAnyRangeReachesTheCaller() {
        Parallel.setThreads(2);
        assertThatThrownBy(() -> Parallel.forRange(10, 1, (from, to) -> {
            if (from > 0) throw new IllegalStateException("range from " + from);
        })).isInstanceOf(IllegalStateException.class).hasMessageStartingWith("range from ");
        assertThatThrownBy(() -> Parallel.forRange(10, 1, (from, to) -> {
            if (from == 0) throw new ArithmeticException("first range");
        })).isInstanceOf(ArithmeticException.class).hasMessageContaining("first range");
        // The team still works afterwards.
        AtomicIntegerArray hits = new AtomicIntegerArray(10);
        Parallel.forRange(10, 1, (from, to) -> {
            for (int i = from; i < to; i++) hits.incrementAndGet(i);
        });
        for (int i = 0; i < 10; i++) assertThat(hits.get(i)).isEqualTo(1);
    }

    @Test
    void nestedAndConcurrentLoopsRunInlineAndStayCorrect() throws Exception {
        Parallel.setThreads(2);
        AtomicIntegerArray hits = new AtomicIntegerArray(40 * 40);
        Parallel.forRange(40, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                int row = i;
                Parallel.forRange(40, 1, (a, b) -> {
                    for (int j = a; j < b; j++) hits.incrementAndGet(row * 40 + j);
                });
            }
        });
        for (int i = 0; i < hits.length(); i++) assertThat(hits.get(i)).isEqualTo(1);

        AtomicIntegerArray shared = new AtomicIntegerArray(4 * 500);
        List<Thread> callers = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            int caller = c;
            callers.add(Thread.ofPlatform().start(() -> {
                for (int rep = 0; rep < 500; rep++) {
                    int slot = caller * 500 + rep;
                    Parallel.forRange(8, 1, (from, to) -> {
                        for (int i = from; i < to; i++) shared.incrementAndGet(slot);
                    });
                }
            }));
        }
        for (Thread t : callers) t.join();
        for (int i = 0; i < shared.length(); i++) assertThat(shared.get(i)).as("slot %d", i).isEqualTo(8);
    }
}
