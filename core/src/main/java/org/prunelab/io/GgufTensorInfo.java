package org.prunelab.io;

import java.util.Arrays;

/**
 * One tensor's entry in a GGUF file's tensor table.
 *
 * @param name       the GGUF tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param type       how the elements are encoded
 * @param shape      dimensions in GGUF order: {@code shape[0]} ({@code ne[0]}) is the innermost, contiguous
 *                   dimension. For a weight matrix {@code shape = [in_features, out_features]}, the reverse of
 *                   the Hugging Face / PyTorch order.
 * @param dataOffset byte offset of the tensor's data from the start of the file's data section
 * @param byteSize   bytes the data occupies, derived from shape and type
 */
public record GgufTensorInfo(String name, GgmlType type, long[] shape, long dataOffset, long byteSize) {
    public GgufTensorInfo {
        shape = shape.clone();
    }

    /** The shape as a fresh array (GGUF order, innermost first). */
    @Override
    public long[] shape() { return shape.clone(); }

    /** Number of dimensions (1 for norms and biases, 2 for weight matrices). */
    public int rank() { return shape.length; }

    /** {@code ne[i]}, the size of dimension {@code i} in GGUF order. */
    public long ne(int i) { return shape[i]; }

    /** Product of the dimensions. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && t.name.equals(name) && t.type == type && Arrays.equals(t.shape, shape)
                && t.dataOffset == dataOffset && t.byteSize == byteSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + " " + type + " " + Arrays.toString(shape);
    }
}
