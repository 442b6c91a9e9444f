package org.prunelab.fuzz;

import org.prunelab.PrunelabException;

import java.lang.management.ManagementFactory;
import java.util.concurrent.Callable;

/**
 * (A copy of core's test class of the same name: the modules share no test code.)
 *
 * <p>The contract every parser keeps for every input, checked by the fuzz targets ({@code *FuzzTest}): it either
 * returns a valid result or throws a {@link PrunelabException} whose message says what is wrong; never another
 * exception, and never an allocation out of proportion to the input (a header that claims 2^40 entries in a
 * 1 KB file must be refused before anything of that size is allocated). Hangs are caught by the fuzzer's
 * per-input timeout ({@code @Timeout} on each target, libFuzzer's {@code -timeout} in the campaign).
 *
 * <p>The allocation check reads the JVM's per-thread allocation counter
 * ({@link com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes()}) around the parse, so it sees every
 * Java object the parser made, however short-lived: {@value #BYTES_PER_INPUT_BYTE} bytes per input byte (fp32
 * out of 4-bit blocks is 7x, a sparse bitmask's dense matrix 32x, Java objects for small header values ~24x)
 * plus a fixed {@value #FIXED_ALLOWANCE_MIB} MiB for parser buffers and tables.
 */
public final class FuzzContract {
    /**
     * Seconds one input may take before it counts as a hang: {@code @Timeout} on each target, which JUnit enforces
     * per input in regression runs and Jazzer turns into libFuzzer's {@code -timeout} when fuzzing. Inputs parse in
     * milliseconds; the margin is for a loaded machine, where the first input (which also loads the parser's classes)
     * took over 10 s in a niced test JVM.
     */
    public static final int TIMEOUT_SECONDS = 60;
    /** Heap bytes a parser may allocate per byte of input. */
    public static final long BYTES_PER_INPUT_BYTE = 64;
    /** Fixed allowance in MiB (Jackson's buffers, Jazzer's own bookkeeping in the thread, lookup tables). */
    public static final long FIXED_ALLOWANCE_MIB = 16;

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private FuzzContract() {}

    /** What a parse came to: a result, or the user-facing error it was refused with. */
    public record Outcome<T>(T result, PrunelabException refusal, long allocatedBytes) {
        public boolean accepted() { return refusal == null; }
    }

    /**
     * A multiplier of the allowance, from the system property {@code prunelab.fuzz.allocationFactor} (default 1). While
     * fuzzing, Jazzer's hooks run in the parsing thread and allocate there too (tens of MB per call on inputs that parse
     * to 100 KB uninstrumented), so {@code tools/fuzz/campaign.sh} sets 16; a runaway allocation still fails there as an
     * OutOfMemoryError in its 2 GB heap. Regression runs ({@code mvn test}: every committed input) use the strict bound.
     */
    static final long FACTOR = Math.max(1, Long.getLong("prunelab.fuzz.allocationFactor", 1));

    /** The most heap a parse of {@code inputBytes} bytes may allocate. */
    public static long allowance(long inputBytes) {
        return FACTOR * (BYTES_PER_INPUT_BYTE * inputBytes + (FIXED_ALLOWANCE_MIB << 20));
    }

    /**
     * Runs {@code parse} on an input of {@code inputBytes} bytes and checks the contract.
     *
     * @throws AssertionError if the parse threw anything but a {@link PrunelabException} with a message, or
     *                        allocated more than {@link #allowance(long)}
     */
    public static <T> Outcome<T> check(long inputBytes, Callable<T> parse) {
        Outcome<T> first = once(parse);
        if (first.allocatedBytes() <= allowance(inputBytes)) return first;
        // The first call in a JVM also pays for loading (and, while fuzzing, instrumenting) the parser's classes in
        // this thread; parsers are deterministic, so a second call measures the parse alone.
        Outcome<T> second = once(parse);
        if (second.allocatedBytes() > allowance(inputBytes)) {
            throw new AssertionError("the parser allocated " + second.allocatedBytes() + " bytes for an input of "
                    + inputBytes + " bytes (allowed: " + allowance(inputBytes) + "; first call: " + first.allocatedBytes() + ")");
        }
        return second;
    }

    private static <T> Outcome<T> once(Callable<T> parse) {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        T result = null;
        PrunelabException refusal = null;
        try {
            result = parse.call();
        } catch (PrunelabException e) {
            refusal = e;
            String message = e.getMessage();
            if (message == null || message.isBlank()) {
                throw new AssertionError("a PrunelabException without a message", e);
            }
        } catch (Throwable t) { // the contract: nothing else may escape, OutOfMemoryError and StackOverflowError included
            throw new AssertionError("the parser threw " + t.getClass().getName() + " instead of a PrunelabException: " + t, t);
        }
        return new Outcome<>(result, refusal, THREADS.getCurrentThreadAllocatedBytes() - before);
    }

    /** As {@link #check(long, Callable)} for a parse with no result. */
    public static Outcome<Void> run(long inputBytes, ThrowingRunnable parse) {
        return check(inputBytes, () -> {
            parse.run();
            return null;
        });
    }

    /** A parse step that returns nothing. */
    @FunctionalInterface
    public interface ThrowingRunnable {
        void run() throws Exception;
    }
}
