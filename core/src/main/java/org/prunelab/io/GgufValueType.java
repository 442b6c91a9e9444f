package org.prunelab.io;

/**
 * Types of GGUF metadata values, with the ids the GGUF specification gives them (ggml's
 * {@code docs/gguf.md}, {@code gguf_metadata_value_type}). Integers are little-endian; strings are a
 * uint64 byte length followed by UTF-8 bytes; arrays are an element type, a uint64 count and the elements.
 */
public enum GgufValueType {
    UINT8(1), INT8(1), UINT16(2), INT16(2), UINT32(4), INT32(4), FLOAT32(4), BOOL(1),
    STRING(8), ARRAY(12), UINT64(8), INT64(8), FLOAT64(8);

    private final int minBytes;

    GgufValueType(int minBytes) {
        this.minBytes = minBytes;
    }

    /** Id {@code id}, or null if the specification defines none. Ids are the declaration order (0..12). */
    static GgufValueType fromId(long id) {
        GgufValueType[] all = values();
        return id >= 0 && id < all.length ? all[(int) id] : null;
    }

    /** The fewest bytes one value of this type takes in a file (for bounding counts before allocating). */
    int minBytes() { return minBytes; }

    boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }
}
