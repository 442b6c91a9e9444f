package org.prunelab.io;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Drops the pages of a read-only file mapping from this process's resident set, as {@code madvise(MADV_DONTNEED)}
 * (Linux {@code madvise(2)}): the mapping stays valid, the file's bytes stay in the OS page cache, and the next read
 * maps them again. The streaming pipeline calls it once a block's weights are dequantised, so a memory-mapped model
 * larger than memory does not pile up in the peak RSS ({@code VmHWM}) as its blocks are read one after another.
 *
 * <p>Where {@code madvise} is not available (not Linux, no native access), {@link #release} does nothing and
 * {@link #supported()} is false: the pages then stay resident until the OS needs the memory.
 */
public final class PageRelease {
    private static final int MADV_DONTNEED = 4; // Linux, all architectures prunelab runs on
    private static final long PAGE = 4096;
    private static final MethodHandle MADVISE = lookup();

    private PageRelease() {}

    private static MethodHandle lookup() {
        if (!System.getProperty("os.name", "").toLowerCase(java.util.Locale.ROOT).contains("linux")) return null;
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("madvise").map(addr -> linker.downcallHandle(addr,
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)))
                    .orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** Whether {@link #release} reaches {@code madvise}. */
    public static boolean supported() { return MADVISE != null; }

    /**
     * Releases the whole pages inside {@code region} (a slice of a read-only file mapping); the partial pages at its
     * ends, which may hold a neighbouring tensor's bytes, are kept. Never throws: failure only leaves pages resident.
     *
     * @return whether madvise was called and succeeded
     */
    public static boolean release(MemorySegment region) {
        if (MADVISE == null || region.byteSize() == 0) return false;
        long start = (region.address() + PAGE - 1) & -PAGE;
        long end = (region.address() + region.byteSize()) & -PAGE;
        if (end <= start) return false;
        try {
            return (int) MADVISE.invokeExact(MemorySegment.ofAddress(start), end - start, MADV_DONTNEED) == 0;
        } catch (Throwable t) {
            return false;
        }
    }
}
