package org.prunelab.bench;

import org.prunelab.arch.ModelLoader;
import org.junit.jupiter.api.Test;
import org.prunelab.model.DecoderConfig;
import org.prunelab.model.DecoderModel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class MemoryMeterTest {

    @Test
    void peakSeesMemoryTouchedAfterStartAndTheRatioUsesTheBaseline() {
        assumeTrue(MemoryMeter.supported(), "no /proc/self/status: not Linux");
        try (MemoryMeter meter = MemoryMeter.afterLoad().startPeak()) {
            assertThat(meter.baselineBytes()).isPositive();
            // Resident memory just before touching: other tests in this JVM may have left heap that the
            // collector gives back meanwhile, so the baseline itself is not a tight lower bound.
            long before = MemoryMeter.residentBytes();
            // Native memory: fresh pages, unlike the Java heap, which may reuse pages already resident.
            java.nio.ByteBuffer big = java.nio.ByteBuffer.allocateDirect(200 << 20);
            for (int i = 0; i < big.capacity(); i += 4096) big.put(i, (byte) 1); // touch every page
            long peak = meter.peakBytes();
            long after = MemoryMeter.residentBytes();
            assertThat(peak).isGreaterThanOrEqualTo(after - (1 << 20));
            // Some sandboxed kernels (e.g. gVisor) do not count freshly touched pages in VmRSS at once; the
            // peak cannot be checked there, and the parsing and arithmetic are covered by the tests below.
            assumeTrue(after - before > 150L << 20,
                    "VmRSS grew by only " + (after - before) + " bytes after touching 200 MiB: this kernel's RSS accounting is approximate");
            assertThat(peak - before).isGreaterThan(150L << 20);
            assertThat(meter.overheadRatio(50L << 20))
                    .isCloseTo((double) (meter.peakBytes() - meter.baselineBytes()) / (50L << 20), within(0.05));
            assertThat(big.get(4096)).isEqualTo((byte) 1);
        }
    }

    @Test
    void statusLinesAreReadInKibibytesAndMissingKeysGiveMinusOne() {
        java.util.List<String> status = java.util.List.of(
                "Name:\tjava", "VmHWM:\t  812344 kB", "VmRSS:\t  790000 kB", "Threads:\t42");
        assertThat(MemoryMeter.statusBytes(status, "VmHWM:")).isEqualTo(812344L * 1024);
        assertThat(MemoryMeter.statusBytes(status, "VmRSS:")).isEqualTo(790000L * 1024);
        assertThat(MemoryMeter.statusBytes(status, "VmSwap:")).isEqualTo(-1);
        assertThat(MemoryMeter.statusBytes(java.util.List.of("VmRSS:\tlots kB"), "VmRSS:")).isEqualTo(-1);
    }

    @Test
    void parametersCountTiedEmbeddingsOnce() {
        DecoderConfig c = new DecoderConfig(32, 48, 2, 4, 2, 8, 50, 64, 1e-5, 10000, null, true, 1, 2);
        DecoderModel m = ModelLoader.build(c, new RandomWeights(c, 1, 0.1));
        long perBlock = 32L * 32 + 2 * 16L * 32 + 32L * 32 + 3 * 48L * 32 + 2 * 32;
        assertThat(MemoryMeter.parameters(m)).isEqualTo(50L * 32 + 2 * perBlock + 32);
        DecoderConfig untied = new DecoderConfig(32, 48, 2, 4, 2, 8, 50, 64, 1e-5, 10000, null, false, 1, 2);
        DecoderModel u = ModelLoader.build(untied, new RandomWeights(untied, 1, 0.1));
        assertThat(MemoryMeter.parameters(u)).isEqualTo(2 * 50L * 32 + 2 * perBlock + 32);
    }
}
