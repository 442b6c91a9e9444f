package org.prunelab.io;

import org.prunelab.PrunelabException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads GGUF header primitives from a mapped file, checking every read against the file's end so a
 * truncated file or an absurd length fails with a message naming what was being read and where.
 */
final class GgufCursor {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final MemorySegment file;
    private long pos;

    GgufCursor(Path path, MemorySegment file) {
        this.path = path;
        this.file = file;
    }

    long position() { return pos; }

    private long remaining() { return file.byteSize() - pos; }

    private void need(long bytes, String what) {
        if (bytes > remaining()) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + " is truncated: reading " + what
                    + " at offset " + pos + " needs " + bytes + " bytes but the file ends at " + file.byteSize()
                    + ". Download it again.");
        }
    }

    int u32(String what) {
        need(4, what);
        int v = file.get(U32, pos);
        pos += 4;
        return v;
    }

    long u64(String what) {
        need(8, what);
        long v = file.get(U64, pos);
        pos += 8;
        return v;
    }

    /** Fails early if {@code count} items of at least {@code minBytes} each cannot fit in the rest of the file. */
    void requireCount(long count, int minBytes, String what) {
        if (count < 0 || count > remaining() / minBytes) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + " declares " + Long.toUnsignedString(count)
                    + " " + what + ", more than the remaining " + remaining()
                    + " bytes can hold. The file is corrupt or truncated; download it again.");
        }
    }

    String string(String what) {
        long at = pos;
        long len = u64("length of " + what);
        if (len < 0 || len > remaining()) {
            throw new PrunelabException.ModelFormat("GGUF file " + path + ": " + what + " at offset " + at
                    + " declares a string of " + Long.toUnsignedString(len) + " bytes, past the end of the file ("
                    + file.byteSize() + " bytes). The file is corrupt or truncated; download it again.");
        }
        byte[] bytes = new byte[(int) Math.min(len, Integer.MAX_VALUE)];
        if (bytes.length != len) throw corrupt(what + " at offset " + at + " is a string longer than 2 GiB");
        MemorySegment.copy(file, ValueLayout.JAVA_BYTE, pos, bytes, 0, bytes.length);
        pos += len;
        return new String(bytes, StandardCharsets.UTF_8);
    }

    GgufValueType valueType(String what) {
        long at = pos;
        long id = Integer.toUnsignedLong(u32(what));
        GgufValueType t = GgufValueType.fromId(id);
        if (t == null) throw corrupt(what + " at offset " + at + " is " + id + ", not a GGUF value type (0..12)");
        return t;
    }

    /** A value of {@code type}; integers become Long, see {@link GgufMetadata} for the mapping. */
    Object value(GgufValueType type, String what) {
        return switch (type) {
            case UINT8 -> { need(1, what); yield (long) (file.get(ValueLayout.JAVA_BYTE, pos++) & 0xFF); }
            case INT8 -> { need(1, what); yield (long) file.get(ValueLayout.JAVA_BYTE, pos++); }
            case UINT16 -> { need(2, what); long v = file.get(U16, pos) & 0xFFFF; pos += 2; yield v; }
            case INT16 -> { need(2, what); long v = file.get(U16, pos); pos += 2; yield v; }
            case UINT32 -> Integer.toUnsignedLong(u32(what));
            case INT32 -> (long) u32(what);
            case UINT64, INT64 -> u64(what);
            case FLOAT32 -> { need(4, what); float v = file.get(F32, pos); pos += 4; yield v; }
            case FLOAT64 -> { need(8, what); double v = file.get(F64, pos); pos += 8; yield v; }
            case BOOL -> {
                need(1, what);
                byte b = file.get(ValueLayout.JAVA_BYTE, pos);
                if (b != 0 && b != 1) throw corrupt(what + " at offset " + pos + " is a bool with byte value " + b);
                pos++;
                yield b == 1;
            }
            case STRING -> string(what);
            case ARRAY -> array(what);
        };
    }

    private GgufMetadata.GgufArray array(String what) {
        GgufValueType elementType = valueType("element type of " + what);
        long count = u64("length of " + what);
        requireCount(count, elementType.minBytes(), "elements in " + what);
        List<Object> values = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) values.add(value(elementType, what + "[" + i + "]"));
        return new GgufMetadata.GgufArray(elementType, values);
    }

    PrunelabException.ModelFormat corrupt(String what) {
        return new PrunelabException.ModelFormat("GGUF file " + path + " is corrupt: " + what
                + ". Download or re-convert the model.");
    }

    /** The first four bytes, as hex and (where printable) text, for a bad-magic message. */
    static String describeMagic(MemorySegment file) {
        StringBuilder hex = new StringBuilder();
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            int b = file.get(ValueLayout.JAVA_BYTE, i) & 0xFF;
            hex.append(String.format("%02x ", b));
            text.append(b >= 32 && b < 127 ? (char) b : '.');
        }
        return "bytes " + hex.toString().trim() + " (\"" + text + "\")";
    }
}
