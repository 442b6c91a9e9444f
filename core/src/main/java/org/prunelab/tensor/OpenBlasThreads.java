package org.prunelab.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * OpenBLAS's own thread count, changed at run time through its C entry point {@code openblas_set_num_threads}
 * (called through the FFM API on the library netlib has already loaded). prunelab keeps OpenBLAS at one thread
 * by default, so products called from several of prunelab's worker threads at once (attention heads) never
 * queue on OpenBLAS's level-3 lock, and raises it only around a large product called from outside the worker
 * pool. Where the loaded BLAS is not OpenBLAS (no such symbol), {@link #available()} is false and nothing changes.
 * Where the user set {@code OPENBLAS_NUM_THREADS}, that count is kept: {@link #set} does nothing.
 */
final class OpenBlasThreads {
    private static final String LIBRARY = System.getProperty("dev.ludovic.netlib.blas.nativeLib", "libblas.so.3");
    private static final MethodHandle SET = lookup();
    private static final boolean USER_SET = System.getenv("OPENBLAS_NUM_THREADS") != null;
    private static volatile int current = SET == null ? 0 : 1;

    private OpenBlasThreads() {}

    /** Whether OpenBLAS's thread count can be changed here. */
    static boolean available() { return SET != null; }

    /**
     * Sets OpenBLAS's thread count for the products that follow, at most the number of cores (more only makes
     * OpenBLAS's threads wait for each other); a no-op where {@link #available()} is false.
     */
    static void set(int threads) {
        threads = Math.min(threads, Runtime.getRuntime().availableProcessors());
        if (SET == null || USER_SET || current == threads) return;
        try {
            SET.invokeExact(threads);
            current = threads;
        } catch (Throwable e) {
            throw new IllegalStateException("openblas_set_num_threads(" + threads + ") failed", e);
        }
    }

    private static MethodHandle lookup() {
        try {
            Linker linker = Linker.nativeLinker();
            Optional<java.lang.foreign.MemorySegment> symbol =
                    SymbolLookup.libraryLookup(LIBRARY, Arena.global()).find("openblas_set_num_threads");
            return symbol.map(s -> linker.downcallHandle(s, FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT))).orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }
}
