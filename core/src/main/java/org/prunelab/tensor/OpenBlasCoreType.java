package org.prunelab.tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Tells OpenBLAS which kernels to use when it cannot tell by itself. OpenBLAS builds with DYNAMIC_ARCH pick
 * their kernels from the CPU model number; a release older than the CPU (Debian 12's 0.3.21 on Sapphire or
 * Emerald Rapids) does not know the model and falls back to its generic "Prescott" SSE3 kernels, about 6x
 * slower than its AVX-512 ones. OpenBLAS reads the environment variable {@code OPENBLAS_CORETYPE} once, when
 * the library is loaded; so before netlib loads it, and only if the user has not set the variable, this
 * sets it in the process environment from the CPU's instruction-set flags ({@code SKYLAKEX} for AVX-512,
 * {@code HASWELL} for AVX2), which every OpenBLAS version since 0.3 knows.
 */
final class OpenBlasCoreType {
    private OpenBlasCoreType() {}

    /** Sets OPENBLAS_CORETYPE if unset and the CPU flags call for it; never fails (returns what it set). */
    static Optional<String> applyIfUnset() {
        if (System.getenv("OPENBLAS_CORETYPE") != null) return Optional.empty();
        Optional<String> core = fromCpuFlags();
        core.ifPresent(value -> setenv("OPENBLAS_CORETYPE", value));
        return core;
    }

    /** Sets an environment variable of this process unless it is already set; best effort. */
    static void setIfUnset(String name, String value) {
        if (System.getenv(name) == null) setenv(name, value);
    }

    static Optional<String> fromCpuFlags() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(cpuinfo)) return Optional.empty();
        try (var lines = Files.lines(cpuinfo)) {
            String flags = lines.filter(l -> l.startsWith("flags")).findFirst().orElse("");
            String padded = " " + flags.replace('\t', ' ') + " ";
            if (padded.contains(" avx512f ") && padded.contains(" avx512bw ") && padded.contains(" avx512vl ")) {
                return Optional.of("SKYLAKEX");
            }
            if (padded.contains(" avx2 ") && padded.contains(" fma ")) return Optional.of("HASWELL");
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static void setenv(String name, String value) {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            try (Arena arena = Arena.ofConfined()) {
                int rc = (int) setenv.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 0);
                if (rc != 0) System.getLogger(OpenBlasCoreType.class.getName())
                        .log(System.Logger.Level.DEBUG, "setenv " + name + " failed");
            }
        } catch (Throwable e) {
            // Without native access OpenBLAS simply keeps its own choice: slower, still correct.
            System.getLogger(OpenBlasCoreType.class.getName())
                    .log(System.Logger.Level.DEBUG, "could not set " + name + ": " + e);
        }
    }
}
