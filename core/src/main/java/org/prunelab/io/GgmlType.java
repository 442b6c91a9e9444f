package org.prunelab.io;

import org.prunelab.PrunelabException;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The ggml tensor element types a GGUF file can name, with their on-disk block geometry. Elements are
 * stored in blocks of {@link #blockSize()} values taking {@link #typeSize()} bytes; a tensor row
 * ({@code ne[0]} values) is always a whole number of blocks. Ids and sizes follow ggml's {@code ggml_type}
 * enum and gguf-py's {@code GGML_QUANT_SIZES}. Only the types in {@link #DEQUANTISABLE} can be turned into
 * fp32 by {@link GgmlDequant}; the others are still recognised so a file that contains them can be opened
 * and its other tensors read.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 18),
    Q4_1(3, 32, 20),
    Q5_0(6, 32, 22),
    Q5_1(7, 32, 24),
    Q8_0(8, 32, 34),
    Q8_1(9, 32, 40),
    Q2_K(10, 256, 84),
    Q3_K(11, 256, 110),
    Q4_K(12, 256, 144),
    Q5_K(13, 256, 176),
    Q6_K(14, 256, 210),
    Q8_K(15, 256, 292),
    IQ2_XXS(16, 256, 66),
    IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98),
    IQ1_S(19, 256, 50),
    IQ4_NL(20, 32, 18),
    IQ3_S(21, 256, 110),
    IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 56),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 54),
    TQ2_0(35, 256, 66),
    MXFP4(39, 32, 17);

    /** Types {@link GgmlDequant} can turn into fp32. */
    public static final Set<GgmlType> DEQUANTISABLE = EnumSet.of(F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
            Q6_K);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The numeric id stored in a GGUF tensor info. */
    public int id() { return id; }

    /** Elements per block (1 for plain float and integer types, 32 or 256 for quantised ones). */
    public int blockSize() { return blockSize; }

    /** Bytes per block. */
    public int typeSize() { return typeSize; }

    /** Whether {@link GgmlDequant} supports this type. */
    public boolean isDequantisable() { return DEQUANTISABLE.contains(this); }

    /**
     * Bytes that {@code elements} values of this type occupy.
     *
     * @throws IllegalArgumentException if {@code elements} is not a multiple of {@link #blockSize()}
     */
    public long byteSize(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements is not a whole number of " + name()
                    + " blocks of " + blockSize);
        }
        return elements / blockSize * typeSize;
    }

    /**
     * The type with ggml id {@code id}.
     *
     * @param file   the file being read, for the message
     * @param tensor the tensor whose info names the id, for the message
     * @throws PrunelabException.ModelFormat if the id is not a ggml type this reader knows
     */
    public static GgmlType fromId(long id, Path file, String tensor) {
        GgmlType t = id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
        if (t == null) {
            throw new PrunelabException.ModelFormat("GGUF file " + file + ": tensor '" + tensor
                    + "' has unknown ggml type id " + id + " (known ids: " + knownIds()
                    + "). The file may come from a newer llama.cpp or be corrupt; re-convert it with a type such as"
                    + " Q8_0, Q4_K or F16.");
        }
        return t;
    }

    private static String knownIds() {
        return Arrays.stream(values()).map(t -> t.id + "=" + t.name()).collect(Collectors.joining(", "));
    }
}
