package org.prunelab.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test-only GGUF writer for tiny files. Tensor offsets are laid out from the byte arrays actually given
 * (each padded to the alignment), not from the declared shapes, so a test can declare a shape that
 * disagrees with its data.
 */
public final class GgufTestWriter {
    private record Kv(String key, GgufValueType type, Object value) {}

    private record Tensor(String name, int typeId, long[] shape, byte[] data) {}

    private final List<Kv> kvs = new ArrayList<>();
    private final List<Tensor> tensors = new ArrayList<>();
    private int version = 3;
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;

    public GgufTestWriter version(int v) {
        version = v;
        return this;
    }

    /** Also writes general.alignment. */
    public GgufTestWriter alignment(int a) {
        alignment = a;
        return kv("general.alignment", GgufValueType.UINT32, (long) a);
    }

    /** value: Long for integers, Float, Double, Boolean, String, or {@link Arr}. */
    public GgufTestWriter kv(String key, GgufValueType type, Object value) {
        kvs.add(new Kv(key, type, value));
        return this;
    }

    /** An array value: element type and elements (nested {@link Arr} allowed). */
    public record Arr(GgufValueType elementType, List<?> values) {}

    public GgufTestWriter tensor(String name, GgmlType type, long[] shape, byte[] data) {
        return tensor(name, type.id(), shape, data);
    }

    public GgufTestWriter tensor(String name, int typeId, long[] shape, byte[] data) {
        tensors.add(new Tensor(name, typeId, shape, data));
        return this;
    }

    /** An F32 tensor of GGUF shape {@code shape} holding {@code values}. */
    public GgufTestWriter f32(String name, long[] shape, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return tensor(name, GgmlType.F32, shape, b.array());
    }

    public byte[] toBytes() {
        Out out = new Out();
        out.bytes("GGUF".getBytes(StandardCharsets.US_ASCII));
        out.u32(version);
        out.u64(tensors.size());
        out.u64(kvs.size());
        for (Kv kv : kvs) {
            out.string(kv.key());
            out.u32(kv.type().ordinal());
            out.value(kv.type(), kv.value());
        }
        long offset = 0;
        for (Tensor t : tensors) {
            out.string(t.name());
            out.u32(t.shape().length);
            for (long d : t.shape()) out.u64(d);
            out.u32(t.typeId());
            out.u64(offset);
            offset += pad(t.data().length);
        }
        out.padTo(alignment);
        for (Tensor t : tensors) {
            out.bytes(t.data());
            out.padTo(alignment);
        }
        return out.toByteArray();
    }

    public Path write(Path file) throws IOException {
        Files.write(file, toBytes());
        return file;
    }

    private long pad(long n) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static final class Out extends ByteArrayOutputStream {
        void bytes(byte[] b) { write(b, 0, b.length); }

        void u32(long v) { bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array()); }

        void u64(long v) { bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array()); }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void padTo(int alignment) {
            while (size() % alignment != 0) write(0);
        }

        void value(GgufValueType type, Object v) {
            ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            switch (type) {
                case UINT8, INT8 -> write((int) (long) (Long) v);
                case UINT16, INT16 -> bytes(b.putShort((short) (long) (Long) v).array(), 2);
                case UINT32, INT32 -> u32((Long) v);
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT32 -> bytes(b.putFloat((Float) v).array(), 4);
                case FLOAT64 -> bytes(b.putDouble((Double) v).array(), 8);
                case BOOL -> write((Boolean) v ? 1 : 0);
                case STRING -> string((String) v);
                case ARRAY -> {
                    Arr a = (Arr) v;
                    u32(a.elementType().ordinal());
                    u64(a.values().size());
                    for (Object e : a.values()) value(a.elementType(), e);
                }
            }
        }

        private void bytes(byte[] b, int n) { write(b, 0, n); }
    }
}
