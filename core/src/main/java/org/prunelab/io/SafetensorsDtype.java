package org.prunelab.io;

/**
 * Element types of the safetensors format (huggingface/safetensors {@code Dtype}), with their sizes in bytes.
 * prunelab reads {@link #F32}, {@link #F16} and {@link #BF16} into fp32 and writes the same three; the others
 * are recognised so a file holding them (e.g. an int64 buffer) still opens.
 */
public enum SafetensorsDtype {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4), F64(8), I64(8), U64(8);

    private final int bytes;

    SafetensorsDtype(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() { return bytes; }

    /** Whether prunelab converts this dtype to and from fp32. */
    public boolean isFloatSupported() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** The ggml type with the same element encoding, used to share the fp32 conversion code. */
    GgmlType ggmlType() {
        return switch (this) {
            case F32 -> GgmlType.F32;
            case F16 -> GgmlType.F16;
            case BF16 -> GgmlType.BF16;
            default -> throw new IllegalStateException(this + " has no fp32 conversion");
        };
    }

    /** The dtype named {@code name} in a safetensors header, or null if unknown. */
    static SafetensorsDtype parse(String name) {
        for (SafetensorsDtype d : values()) if (d.name().equals(name)) return d;
        return null;
    }
}
