package org.prunelab.model;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The hidden states of every calibration window at the current block boundary: {@code windows} slots of
 * {@code [tokens, hidden]} fp32 values, kept in a temporary file rather than on the Java heap.
 *
 * <p>Why a file: at nsamples 128, seqlen 512 and hidden 576 the cache is 151 MB in fp32 (75 MB in fp16),
 * a quarter of SmolLM2-135M's 540 MB of fp32 weights; in the heap it alone would break the 10% memory
 * overhead goal. Plain positional reads and writes (no memory mapping) go through the OS page cache, which
 * is not part of the process's resident set, and keep the values exact (no fp16 rounding), so captured
 * inputs equal the dense forward's hidden states bit for bit. The file is sized from windows x tokens x
 * hidden only, never from the model's context length.
 *
 * <p>The file is unlinked right after it is opened: it disappears when the channel closes or the process
 * dies, even by {@code kill -9}. Slots are overwritten in place, so one cache serves all blocks (block l's
 * outputs replace its inputs window by window). Not thread-safe.
 */
public final class ActivationCache implements AutoCloseable {
    private final int windows;
    private final int slotFloats;
    private final FileChannel channel;
    private final ByteBuffer buffer;

    private ActivationCache(int windows, int slotFloats, FileChannel channel) {
        this.windows = windows;
        this.slotFloats = slotFloats;
        this.channel = channel;
        this.buffer = ByteBuffer.allocateDirect(Math.multiplyExact(slotFloats, Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * An empty cache of {@code windows} slots of {@code tokens x hidden} floats in {@code java.io.tmpdir}.
     *
     * @throws PrunelabException if the temporary file cannot be created
     */
    public static ActivationCache create(int windows, int tokens, int hidden) {
        return create(null, windows, tokens, hidden);
    }

    /**
     * An empty cache of {@code windows} slots of {@code tokens x hidden} floats in {@code dir} (null: {@code
     * java.io.tmpdir}), checked first: the folder must be writable and have room for the whole cache.
     *
     * @throws PrunelabException if the folder is missing, not writable, or has less free space than the cache needs
     */
    public static ActivationCache create(Path dir, int windows, int tokens, int hidden) {
        int slotFloats = Math.multiplyExact(tokens, hidden);
        checkScratch(dir, (long) windows * slotFloats * Float.BYTES);
        Path file = null;
        try {
            file = dir == null ? Files.createTempFile("prunelab-activations-", ".f32")
                    : Files.createTempFile(dir, "prunelab-activations-", ".f32");
            FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            Files.delete(file); // the open channel keeps the data; nothing is left behind on any exit
            return new ActivationCache(windows, slotFloats, ch);
        } catch (IOException e) {
            try {
                if (file != null) Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // the creation failure is what matters
            }
            throw new PrunelabException("cannot create the calibration activation cache ("
                    + (long) windows * slotFloats * Float.BYTES + " bytes) in " + System.getProperty("java.io.tmpdir")
                    + ": " + e + ". Free disk space there or point -Djava.io.tmpdir at a writable disk.", e);
        }
    }

    /**
     * Checks, before any work, that {@code dir} (null: {@code java.io.tmpdir}) can hold a cache of {@code bytes}: it is
     * a writable folder with at least that much usable space.
     *
     * @throws PrunelabException naming the folder, the bytes needed and free, and what to do
     */
    public static void checkScratch(Path dir, long bytes) {
        Path d = dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir"));
        if (!Files.isDirectory(d)) {
            throw new PrunelabException("the scratch folder " + d + " for the calibration activations is not a folder;"
                    + " give an existing folder on a disk with " + bytes / 1_000_000 + " MB free (--scratch)");
        }
        if (!Files.isWritable(d)) {
            throw new PrunelabException("the scratch folder " + d + " for the calibration activations is not writable; give"
                    + " a writable folder with " + bytes / 1_000_000 + " MB free (--scratch)");
        }
        try {
            long free = Files.getFileStore(d).getUsableSpace();
            if (free < bytes) {
                throw new PrunelabException("the calibration activations need " + bytes / 1_000_000 + " MB in " + d
                        + ", which has " + free / 1_000_000 + " MB free; free space there, give another folder (--scratch),"
                        + " or fewer or shorter windows (--nsamples, --seqlen)");
            }
        } catch (IOException e) {
            throw new PrunelabException("cannot read the free space of the scratch folder " + d + ": " + e, e);
        }
    }

    public int windows() { return windows; }

    /** Stores {@code x[0 .. tokens*hidden)} as slot {@code window}. */
    public void write(int window, float[] x) {
        buffer.clear();
        buffer.asFloatBuffer().put(x, 0, slotFloats);
        buffer.limit(slotFloats * Float.BYTES);
        long pos = offset(window);
        try {
            while (buffer.hasRemaining()) pos += channel.write(buffer, pos);
        } catch (IOException e) {
            throw new PrunelabException("cannot write the calibration activations (" + e + "): the scratch disk is full or"
                    + " failing; free space there or give another folder (--scratch)", e);
        }
    }

    /** Reads slot {@code window} into {@code into[0 .. tokens*hidden)}. */
    public void read(int window, float[] into) {
        buffer.clear();
        buffer.limit(slotFloats * Float.BYTES);
        long pos = offset(window);
        try {
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, pos);
                if (n < 0) throw new IllegalStateException("activation cache slot " + window + " was never written");
                pos += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the activation cache", e);
        }
        buffer.flip();
        buffer.asFloatBuffer().get(into, 0, slotFloats);
    }

    private long offset(int window) {
        if (window < 0 || window >= windows) throw new IndexOutOfBoundsException("window " + window + " of " + windows);
        return (long) window * slotFloats * Float.BYTES;
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // the file is already unlinked; closing only releases the descriptor
        }
    }
}
