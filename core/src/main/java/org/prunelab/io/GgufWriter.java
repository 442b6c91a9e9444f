package org.prunelab.io;

import org.prunelab.PrunelabException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Writes a GGUF version 3 file (ggml {@code docs/gguf.md}): magic "GGUF", uint32 version 3, uint64 tensor count,
 * uint64 metadata count, the metadata key/values (every value type, arrays included), the tensor infos (name, number
 * of dimensions, {@code ne[]} innermost first, ggml type id, offset into the data section), zero padding to
 * {@code general.alignment} (32 unless the metadata sets another power of two), then each tensor's bytes at its
 * offset, each padded to the alignment. Everything is little-endian, which is what {@link GgufFile} and llama.cpp read.
 *
 * <p>Metadata values use {@link GgufMetadata}'s Java types: every integer type as {@link Long}, FLOAT32 as
 * {@link Float}, FLOAT64 as {@link Double}, BOOL as {@link Boolean}, STRING as {@link String}, ARRAY as
 * {@link GgufMetadata.GgufArray}; a value that does not fit its declared type is refused when it is put, so a file
 * read with {@link GgufFile} and written back keeps every key, type and value.
 *
 * <p>Tensor data is given as a ggml type, the dimensions in GGUF order ({@code ne[0]} is the row length: for a weight
 * {@code [out, in]} that is {@code [in, out]}) and a {@link TensorBytes} that streams exactly
 * {@code type.byteSize(elements)} bytes when the file is written, so quantised block bytes are copied as they are and
 * no tensor needs to be held twice in memory.
 *
 * <p>{@link #write} is all-or-nothing: the file is written next to the target under a temporary name and renamed into
 * place when complete; on any failure the temporary file is removed and nothing appears at the target.
 */
public final class GgufWriter {
    /** The GGUF version written. */
    public static final int VERSION = 3;
    private static final int MAGIC = 0x46554747; // "GGUF" as a little-endian uint32
    private static final int MAX_DIMS = 4;
    private static final int CHUNK_BYTES = 1 << 20;

    /** Streams one tensor's bytes, in ggml's encoding for its type, into the file. */
    @FunctionalInterface
    public interface TensorBytes {
        /** Writes the tensor's bytes to {@code out}; called once, while the file is written. */
        void writeTo(WritableByteChannel out) throws IOException;

        /** The bytes of {@code data}, as they are. */
        static TensorBytes of(byte[] data) {
            return out -> writeFully(out, ByteBuffer.wrap(data));
        }

        /** The bytes of {@code segment} (e.g. a zero-copy view of another GGUF file's tensor), as they are. */
        static TensorBytes of(MemorySegment segment) {
            return out -> {
                for (long at = 0; at < segment.byteSize(); at += CHUNK_BYTES) {
                    long n = Math.min(CHUNK_BYTES, segment.byteSize() - at);
                    writeFully(out, segment.asSlice(at, n).asByteBuffer());
                }
            };
        }

        /** {@code values} as little-endian F32. */
        static TensorBytes f32(float[] values) {
            return out -> {
                ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < values.length; ) {
                    buf.clear();
                    int n = Math.min(values.length - i, CHUNK_BYTES / 4);
                    buf.asFloatBuffer().put(values, i, n);
                    buf.limit(n * 4);
                    writeFully(out, buf);
                    i += n;
                }
            };
        }

        /**
         * {@code values} as little-endian F16 (IEEE binary16), rounded to nearest even as ggml's
         * {@code ggml_fp32_to_fp16} does on x86 (F16C); magnitudes above 65504 become infinities.
         */
        static TensorBytes f16(float[] values) {
            return out -> {
                ByteBuffer buf = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i < values.length; ) {
                    buf.clear();
                    int n = Math.min(values.length - i, CHUNK_BYTES / 2);
                    for (int j = 0; j < n; j++) buf.putShort(Float.floatToFloat16(values[i + j]));
                    buf.flip();
                    writeFully(out, buf);
                    i += n;
                }
            };
        }
    }

    /**
     * One tensor to write.
     *
     * @param name GGUF tensor name, e.g. {@code blk.0.attn_q.weight}
     * @param type ggml encoding of the bytes
     * @param ne   dimensions in GGUF order, innermost ({@code ne[0]}, the row length) first; 1 to 4 of them
     * @param data streams {@link #byteSize()} bytes
     */
    public record Tensor(String name, GgmlType type, long[] ne, TensorBytes data) {
        public Tensor {
            if (name == null || name.isEmpty()) throw new IllegalArgumentException("a tensor needs a name");
            if (ne.length < 1 || ne.length > MAX_DIMS) {
                throw new IllegalArgumentException("tensor '" + name + "' has " + ne.length + " dimensions; GGUF allows 1 to " + MAX_DIMS);
            }
            ne = ne.clone();
            for (long d : ne) if (d < 1) throw new IllegalArgumentException("tensor '" + name + "' has dimensions " + Arrays.toString(ne));
            if (ne[0] % type.blockSize() != 0) {
                throw new IllegalArgumentException("tensor '" + name + "' has rows of ne[0] = " + ne[0] + " values, not a"
                        + " multiple of the " + type + " block size " + type.blockSize());
            }
        }

        @Override
        public long[] ne() { return ne.clone(); }

        /** Values in the tensor. */
        public long elementCount() {
            long n = 1;
            for (long d : ne) n = Math.multiplyExact(n, d);
            return n;
        }

        /** Bytes of the encoded data. */
        public long byteSize() { return type.byteSize(elementCount()); }

        @Override
        public String toString() { return name + " " + type + " " + Arrays.toString(ne); }
    }

    private final Map<String, GgufMetadata.Entry> metadata = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    /**
     * Sets {@code key} to {@code value} of {@code type}; a key already present keeps its position.
     *
     * @param value the Java type {@link GgufMetadata} uses for {@code type} (see the class comment)
     * @throws IllegalArgumentException if the value does not fit the type (an integer out of range, an array element
     *         of another type, nested arrays of differing types)
     */
    public GgufWriter put(String key, GgufValueType type, Object value) {
        if (key == null || key.isEmpty()) throw new IllegalArgumentException("a metadata key must not be empty");
        checkValue(key, type, value);
        metadata.put(key, new GgufMetadata.Entry(type, value));
        return this;
    }

    /** Sets a UINT32 value. @throws IllegalArgumentException outside [0, 2^32) */
    public GgufWriter putUint32(String key, long value) { return put(key, GgufValueType.UINT32, value); }

    /** Sets an INT32 value. */
    public GgufWriter putInt32(String key, int value) { return put(key, GgufValueType.INT32, (long) value); }

    /** Sets a FLOAT32 value. */
    public GgufWriter putFloat32(String key, float value) { return put(key, GgufValueType.FLOAT32, value); }

    /** Sets a BOOL value. */
    public GgufWriter putBool(String key, boolean value) { return put(key, GgufValueType.BOOL, value); }

    /** Sets a STRING value. */
    public GgufWriter putString(String key, String value) { return put(key, GgufValueType.STRING, value); }

    /** Sets an ARRAY of {@code elementType} holding {@code values} (Java types as for {@link #put}). */
    public GgufWriter putArray(String key, GgufValueType elementType, List<?> values) {
        return put(key, GgufValueType.ARRAY, new GgufMetadata.GgufArray(elementType, new ArrayList<>(values)));
    }

    /** Removes {@code key} if present. */
    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** Copies every key of {@code source} that {@code keys} accepts, with its declared type, in the source's order. */
    public GgufWriter copyFrom(GgufMetadata source, Predicate<String> keys) {
        for (String k : source.keys()) {
            if (keys.test(k)) {
                GgufMetadata.Entry e = source.entry(k);
                put(k, e.type(), e.value());
            }
        }
        return this;
    }

    /** The metadata set so far, in file order (unmodifiable view). */
    public Map<String, GgufMetadata.Entry> metadata() { return Collections.unmodifiableMap(metadata); }

    /**
     * Adds a tensor, written in the order added.
     *
     * @throws IllegalArgumentException for a duplicate name
     */
    public GgufWriter tensor(Tensor t) {
        if (!tensorNames.add(t.name())) throw new IllegalArgumentException("tensor '" + t.name() + "' was already added");
        tensors.add(t);
        return this;
    }

    /** As {@link #tensor(Tensor)}. */
    public GgufWriter tensor(String name, GgmlType type, long[] ne, TensorBytes data) {
        return tensor(new Tensor(name, type, ne, data));
    }

    /** The tensors added so far, in file order. */
    public List<Tensor> tensors() { return Collections.unmodifiableList(tensors); }

    /** Alignment in bytes of the data section and of each tensor: {@code general.alignment}, else 32. */
    public long alignment() {
        GgufMetadata.Entry a = metadata.get("general.alignment");
        if (a == null) return GgufFile.DEFAULT_ALIGNMENT;
        if (!a.type().isInteger() || (Long) a.value() <= 0 || Long.bitCount((Long) a.value()) != 1) {
            throw new IllegalArgumentException("general.alignment must be a positive power of two, got " + a.value());
        }
        return (Long) a.value();
    }

    /**
     * Writes the file atomically (temporary file beside {@code file}, then a rename).
     *
     * @return the file's size in bytes
     * @throws PrunelabException if the file cannot be written (the message names it); nothing is left at {@code file}
     * @throws IllegalStateException if a tensor's {@link TensorBytes} writes another number of bytes than its shape
     *         and type need (a bug in the caller); nothing is left at {@code file} either
     */
    public long write(Path file) {
        long alignment = alignment();
        Path tmp = null;
        try {
            tmp = AtomicFiles.tempBeside(file);
            long size;
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                size = writeTo(ch, alignment);
                ch.force(false);
            }
            AtomicFiles.moveIntoPlace(tmp, file);
            tmp = null;
            return size;
        } catch (IOException e) {
            throw AtomicFiles.writeFailed(file, e);
        } finally {
            AtomicFiles.deleteQuietly(tmp);
        }
    }

    private long writeTo(FileChannel ch, long alignment) throws IOException {
        Header h = new Header();
        h.u32(MAGIC);
        h.u32(VERSION);
        h.u64(tensors.size());
        h.u64(metadata.size());
        for (Map.Entry<String, GgufMetadata.Entry> e : metadata.entrySet()) {
            h.string(e.getKey());
            h.u32(e.getValue().type().ordinal());
            h.value(e.getValue().type(), e.getValue().value());
        }
        long offset = 0;
        for (Tensor t : tensors) {
            h.string(t.name());
            h.u32(t.ne.length);
            for (long d : t.ne) h.u64(d);
            h.u32(t.type().id());
            h.u64(offset);
            offset += alignUp(t.byteSize(), alignment);
        }
        h.pad(alignment);
        writeFully(ch, h.buffer());
        long dataStart = ch.position();
        CountingChannel counted = new CountingChannel(ch);
        for (Tensor t : tensors) {
            long before = counted.count;
            t.data().writeTo(counted);
            long wrote = counted.count - before;
            if (wrote != t.byteSize()) {
                throw new IllegalStateException("tensor " + t + " wrote " + wrote + " bytes but its shape and type need "
                        + t.byteSize());
            }
            long pad = alignUp(wrote, alignment) - wrote;
            if (pad > 0) writeFully(counted, ByteBuffer.allocate((int) pad));
        }
        return dataStart + counted.count;
    }

    private static long alignUp(long x, long alignment) {
        return (x + alignment - 1) / alignment * alignment;
    }

    static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) out.write(buf);
    }

    private static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel out;
        long count;

        CountingChannel(WritableByteChannel out) { this.out = out; }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = out.write(src);
            count += n;
            return n;
        }

        @Override public boolean isOpen() { return out.isOpen(); }

        @Override public void close() { /* the file is closed by its owner */ }
    }

    /** The header and metadata, built in memory (a 262k-token vocabulary is a few MB). */
    private static final class Header {
        private ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void room(long bytes) {
            if (buf.remaining() >= bytes) return;
            long want = Math.max((long) buf.capacity() * 2, buf.position() + bytes);
            if (want > Integer.MAX_VALUE - 8) throw new IllegalStateException("GGUF header over 2 GiB");
            ByteBuffer bigger = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }

        void u8(int v) { room(1); buf.put((byte) v); }
        void u16(long v) { room(2); buf.putShort((short) v); }
        void u32(long v) { room(4); buf.putInt((int) v); }
        void u64(long v) { room(8); buf.putLong(v); }
        void f32(float v) { room(4); buf.putFloat(v); }
        void f64(double v) { room(8); buf.putDouble(v); }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            room(b.length);
            buf.put(b);
        }

        void value(GgufValueType type, Object v) {
            switch (type) {
                case UINT8, INT8 -> u8((int) (long) (Long) v);
                case UINT16, INT16 -> u16((Long) v);
                case UINT32, INT32 -> u32((Long) v);
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT32 -> f32((Float) v);
                case FLOAT64 -> f64((Double) v);
                case BOOL -> u8((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> {
                    GgufMetadata.GgufArray a = (GgufMetadata.GgufArray) v;
                    u32(a.elementType().ordinal());
                    u64(a.size());
                    for (Object e : a.values()) value(a.elementType(), e);
                }
            }
        }

        void pad(long alignment) {
            long pad = alignUp(buf.position(), alignment) - buf.position();
            room(pad);
            for (long i = 0; i < pad; i++) buf.put((byte) 0);
        }

        ByteBuffer buffer() {
            return buf.flip();
        }
    }

    private static void checkValue(String key, GgufValueType type, Object v) {
        String problem = switch (type) {
            case UINT8 -> range(v, 0, 0xFF);
            case INT8 -> range(v, Byte.MIN_VALUE, Byte.MAX_VALUE);
            case UINT16 -> range(v, 0, 0xFFFF);
            case INT16 -> range(v, Short.MIN_VALUE, Short.MAX_VALUE);
            case UINT32 -> range(v, 0, 0xFFFF_FFFFL);
            case INT32 -> range(v, Integer.MIN_VALUE, Integer.MAX_VALUE);
            case UINT64, INT64 -> v instanceof Long ? null : "a Long";  // a uint64 keeps its bits in a Long
            case FLOAT32 -> v instanceof Float ? null : "a Float";
            case FLOAT64 -> v instanceof Double ? null : "a Double";
            case BOOL -> v instanceof Boolean ? null : "a Boolean";
            case STRING -> v instanceof String ? null : "a String";
            case ARRAY -> {
                if (!(v instanceof GgufMetadata.GgufArray a)) yield "a GgufArray";
                for (int i = 0; i < a.size(); i++) checkValue(key + "[" + i + "]", a.elementType(), a.values().get(i));
                yield null;
            }
        };
        if (problem != null) {
            throw new IllegalArgumentException("metadata value " + key + " = " + v + " does not fit " + type + " (expected "
                    + problem + ")");
        }
    }

    private static String range(Object v, long min, long max) {
        return v instanceof Long l && l >= min && l <= max ? null : "a Long in [" + min + ", " + max + "]";
    }
}
