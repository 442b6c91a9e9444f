package org.prunelab.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Timeout;
import org.prunelab.fuzz.FuzzContract;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.prunelab.io.GgufFuzzTest.ignoreRefusal;

/**
 * Fuzz target for the safetensors reader: the 8-byte header length, the JSON header (dtypes, shapes, offsets,
 * overlaps, {@code __metadata__}), reading each tensor as fp32, and compressed-tensors' sparse-bitmask weights
 * decompressed from the same file. Contract: {@link FuzzContract}; inputs in {@code SafetensorsFuzzTestInputs/header/}.
 */
class SafetensorsFuzzTest {
    private static final Path NAME = Path.of("fuzz.safetensors");

    @FuzzTest(maxDuration = "60s")
    @Timeout(FuzzContract.TIMEOUT_SECONDS)
    void header(byte[] input) {
        FuzzContract.run(input.length, () -> {
            Arena arena = Arena.ofConfined(); // the file closes it, as open() hands its mapping's arena over
            SafetensorsFile f;
            try {
                f = SafetensorsFile.parse(NAME, arena, MemorySegment.ofArray(input));
            } catch (RuntimeException e) {
                arena.close();
                throw e;
            }
            try (f) {
                exercise(f, input.length);
            }
        });
    }

    private static void exercise(SafetensorsFile f, long fileBytes) {
        assertThat(f.metadata()).isNotNull();
        Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
        for (SafetensorsFile.TensorInfo t : f.tensors()) {
            byName.put(t.name(), f);
            assertThat(f.data(t).byteSize()).isEqualTo(t.end() - t.begin()).isLessThanOrEqualTo(fileBytes);
            if (t.dtype().isFloatSupported()) {
                float[] values = f.read(t.name());
                assertThat((long) values.length).isEqualTo(t.elementCount());
                if (t.rank() == 1) ignoreRefusal(() -> f.vector(t.name()));
                if (t.rank() == 2) ignoreRefusal(() -> f.matrix(t.name()));
            } else {
                ignoreRefusal(() -> f.read(t.name()));
            }
        }
        ignoreRefusal(() -> f.info("no.such.tensor"));
        ignoreRefusal(() -> {
            for (SparseBitmaskTensors.Entry e : SparseBitmaskTensors.find(byName).values()) {
                long[] shape = SparseBitmaskTensors.shape(e);
                ignoreRefusal(() -> {
                    float[] dense = SparseBitmaskTensors.decompress(e);
                    long n = 1;
                    for (long d : shape) n *= d;
                    assertThat((long) dense.length).isEqualTo(n);
                    return dense;
                });
            }
            return null;
        });
    }
}
