package org.prunelab.bench;

import org.prunelab.model.DecoderBlock;
import org.prunelab.tensor.Linear;
import org.prunelab.model.DecoderModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Resident memory of this process (Linux), for the {@code peak_rss_bytes} and {@code memory_overhead_ratio}
 * metrics: {@code memory_overhead_ratio = (peak RSS while pruning - RSS after loading) / fp32 model bytes}.
 *
 * <p>Use: load the model, {@link #afterLoad()} (runs {@code System.gc()} so garbage from loading is not
 * in the baseline, reads VmRSS), then {@link #startPeak()} right before the measured work, and
 * {@link #peakBytes()} after it. The peak is the kernel's high-water mark VmHWM from
 * {@code /proc/self/status}, reset by writing {@code 5} to {@code /proc/self/clear_refs} (Linux 4.0+,
 * {@code Documentation/admin-guide/mm/soft-dirty} / proc(5)); where that write is not permitted, a daemon
 * thread samples VmRSS every {@value #SAMPLE_MILLIS} ms instead (it can miss spikes shorter than that).
 * RSS counts the Java heap pages the JVM has touched, native buffers (BLAS, direct buffers) and mapped
 * file pages; it does not count the OS page cache behind plain file reads and writes.
 *
 * <p>On systems without {@code /proc/self/status} every reading is -1 and the ratio NaN.
 */
public final class MemoryMeter implements AutoCloseable {
    static final long SAMPLE_MILLIS = 10;
    private static final Path STATUS = Path.of("/proc/self/status");
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");

    private final long baselineBytes;
    private volatile long sampledPeak = -1;
    private Thread sampler;
    private boolean kernelPeak;

    private MemoryMeter(long baselineBytes) {
        this.baselineBytes = baselineBytes;
    }

    /** Collects garbage, then records the current RSS as the baseline. Call right after loading the model. */
    public static MemoryMeter afterLoad() {
        System.gc();
        return new MemoryMeter(residentBytes());
    }

    /** Current resident set size (VmRSS) in bytes, or -1 where /proc is unavailable. */
    public static long residentBytes() {
        return statusBytes("VmRSS:");
    }

    /** Whether this system reports resident memory. */
    public static boolean supported() {
        return Files.isReadable(STATUS);
    }

    /** RSS in bytes when {@link #afterLoad()} ran. */
    public long baselineBytes() { return baselineBytes; }

    /**
     * Starts tracking the peak from now: resets the kernel's high-water mark, or starts the sampling thread
     * if the reset is not permitted. Calling it again restarts the tracking.
     */
    public synchronized MemoryMeter startPeak() {
        stopSampler();
        kernelPeak = resetHighWaterMark();
        if (!kernelPeak && supported()) {
            sampledPeak = residentBytes();
            sampler = Thread.ofPlatform().daemon().name("prunelab-rss-sampler").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    sampledPeak = Math.max(sampledPeak, residentBytes());
                    try {
                        Thread.sleep(SAMPLE_MILLIS);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }
        return this;
    }

    /** Whether the peak comes from the kernel's reset high-water mark (true) or from sampling (false). */
    public synchronized boolean kernelPeak() { return kernelPeak; }

    /** Highest RSS in bytes since {@link #startPeak()} (or since the process started if it was never called); -1 if unsupported. */
    public synchronized long peakBytes() {
        long peak = statusBytes("VmHWM:");
        if (!kernelPeak && sampler != null) peak = Math.max(sampledPeak, residentBytes());
        return peak;
    }

    /** {@code (peakBytes - baselineBytes) / modelBytes}; NaN if memory cannot be read. */
    public double overheadRatio(long modelBytes) {
        long peak = peakBytes();
        if (peak < 0 || baselineBytes < 0 || modelBytes <= 0) return Double.NaN;
        return (double) (peak - baselineBytes) / modelBytes;
    }

    /**
     * Number of the model's parameters: embeddings, every block's linears (weights and biases, as their current shapes
     * count them, whatever format holds them) and norms, the final norm, and the LM head unless it is tied to the
     * embedding (one set of parameters, whatever format each copy is held in). Bytes in memory depend on the formats: {@link ModelBench#modelBytes}.
     */
    public static long parameters(DecoderModel model) {
        long params = model.embedTokens().size() + model.norm().weight().length;
        for (DecoderBlock b : model.blocks()) {
            params += b.linearParameters();
            for (org.prunelab.model.RmsNorm n : b.norms().values()) params += n.weight().length;
        }
        // Tied weights are one set of parameters, even when the head is held in another format beside the embedding.
        if (!model.config().tieWordEmbeddings()) params += model.lmHead().totalParameters();
        return params;
    }

    @Override
    public synchronized void close() {
        stopSampler();
    }

    private void stopSampler() {
        if (sampler != null) {
            sampler.interrupt();
            sampler = null;
        }
    }

    private static boolean resetHighWaterMark() {
        try {
            Files.writeString(CLEAR_REFS, "5");
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    /** A "Key:   123 kB" line of /proc/self/status in bytes, or -1. */
    private static long statusBytes(String key) {
        try {
            return statusBytes(Files.readAllLines(STATUS), key);
        } catch (IOException e) {
            return -1;
        }
    }

    /** The value of a "Key:   123 kB" line among {@code lines}, in bytes; -1 if absent or not a number. */
    static long statusBytes(java.util.List<String> lines, String key) {
        for (String line : lines) {
            if (line.startsWith(key)) {
                String[] parts = line.substring(key.length()).trim().split("\\s+");
                try {
                    return Long.parseLong(parts[0]) * 1024;
                } catch (NumberFormatException e) {
                    return -1;
                }
            }
        }
        return -1;
    }
}
