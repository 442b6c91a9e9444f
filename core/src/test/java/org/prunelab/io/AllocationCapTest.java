package org.prunelab.io;

import org.junit.jupiter.api.Test;
import org.prunelab.PrunelabException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The allocation caps (issue 16): a header that claims far more than its file holds (2^40 tensor infos, metadata
 * entries or array elements in a few dozen bytes, a string of 2^63 bytes, a safetensors header of 1 TB, a tensor of
 * 2^40 elements) is refused before anything of the claimed size is allocated: each refusal here allocates under
 * 1 MiB, measured with the JVM's per-thread allocation counter.
 */
class AllocationCapTest {
    private static final long CAP = 1 << 20;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    /** Bytes allocated by a refused parse, the second time (the first pays for loading classes). */
    private static long refusedAllocating(Runnable parse) {
        long allocated = 0;
        for (int i = 0; i < 2; i++) {
            long before = THREADS.getCurrentThreadAllocatedBytes();
            assertThatThrownBy(parse::run).isInstanceOf(PrunelabException.ModelFormat.class);
            allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
        }
        return allocated;
    }

    @Test
    void ggufHeadersClaimingMoreThanTheFileHoldsAreRefusedBeforeAllocating() {
        Map<String, byte[]> cases = GgufSeeds.handMade();
        for (String name : new String[] {"tensor-count-2e40.gguf", "kv-count-2e40.gguf", "array-length-2e40.gguf",
                "key-length-max.gguf", "tensor-past-end.gguf", "tensor-absurd-shape.gguf"}) {
            byte[] file = cases.get(name);
            assertThat(file.length).isLessThan(1024);
            long allocated = refusedAllocating(() -> GgufFile.parse(Path.of(name), MemorySegment.ofArray(file)).close());
            assertThat(allocated).as(name).isLessThan(CAP);
        }
    }

    @Test
    void safetensorsHeadersClaimingMoreThanTheFileHoldsAreRefusedBeforeAllocating() {
        byte[] oneTerabyteHeader = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array();
        assertThat(refusedAllocating(() -> parseSafetensors(oneTerabyteHeader))).isLessThan(CAP);
        byte[] json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,4398046511104]}}"
                .getBytes(StandardCharsets.UTF_8);
        byte[] hugeTensor = ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN).putLong(json.length).put(json).array();
        assertThat(refusedAllocating(() -> parseSafetensors(hugeTensor))).isLessThan(CAP);
    }

    private static void parseSafetensors(byte[] bytes) {
        try (Arena arena = Arena.ofConfined()) {
            SafetensorsFile.parse(Path.of("cap.safetensors"), arena, MemorySegment.ofArray(bytes));
        }
    }
}
