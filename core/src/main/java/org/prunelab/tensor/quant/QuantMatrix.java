package org.prunelab.tensor.quant;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * A {@code [rows, cols]} matrix in one of ggml's 32-value block formats ({@link QuantType}), held as its raw block
 * bytes: row after row, each row {@code cols / 32} blocks, no padding — byte for byte what a GGUF tensor of that type
 * and shape {@code ne = [cols, rows]} holds. A writer can copy {@link #blocks()} into a GGUF file as it is, and a
 * reader can wrap a mapped GGUF segment without converting anything ({@link #wrap}).
 *
 * <p>For a linear weight the shape is the Hugging Face {@code [out_features, in_features]}; {@code cols} must be a
 * multiple of 32. The bytes are never converted to a full fp32 copy: the kernels ({@link QuantLinear}) and
 * {@link #dequantizeRows} decode them block by block.
 *
 * <p>Instances are immutable views: one built from a byte array ({@link #of}, {@link #quantize}) owns the array,
 * one built by {@link #wrap} reads the caller's segment, read-only, and is valid only while that segment's arena
 * is alive (for a GGUF tensor: until the {@code GgufFile} is closed; reading after that throws
 * {@link IllegalStateException}).
 */
public final class QuantMatrix {
    private final QuantType type;
    private final int rows;
    private final int cols;
    /** The block bytes, read-only; a heap segment over {@link #heap} or the caller's (mapped) segment. */
    private final MemorySegment blocks;
    /** The owned array when this is heap-backed, else null. */
    private final byte[] heap;

    private QuantMatrix(QuantType type, int rows, int cols, MemorySegment blocks, byte[] heap) {
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.blocks = blocks;
        this.heap = heap;
    }

    /**
     * Round-to-nearest quantisation of {@code w [rows, cols]}, bit-identical to ggml's {@code quantize_row_q8_0_ref}
     * / {@code quantize_row_q4_0_ref} (and gguf-py's {@code gguf.quants.quantize}) applied row by row.
     *
     * @throws PrunelabException.InvalidArgument if {@code w.cols()} is not a multiple of 32, or the result would
     *                                           exceed one Java array (2 GiB)
     */
    public static QuantMatrix quantize(QuantType type, FloatMatrix w) {
        long bytes = type.matrixBytes(w.rows(), w.cols());
        byte[] out = new byte[checkedArrayLength(type, w.rows(), w.cols(), bytes)];
        int rowBytes = (int) type.rowBytes(w.cols());
        for (int r = 0; r < w.rows(); r++) {
            type.quantize(w.data(), r * w.cols(), w.cols(), out, r * rowBytes);
        }
        return new QuantMatrix(type, w.rows(), w.cols(), MemorySegment.ofArray(out).asReadOnly(), out);
    }

    /**
     * Takes ownership of {@code blocks} (not copied; do not change it afterwards): a {@code [rows, cols]} matrix of
     * {@code type} in GGUF's block layout.
     *
     * @throws PrunelabException.InvalidArgument if cols is not a multiple of 32, a dimension is negative, or the array
     *                                           is not exactly {@link QuantType#matrixBytes} long
     */
    public static QuantMatrix of(QuantType type, int rows, int cols, byte[] blocks) {
        checkLength(type, rows, cols, blocks.length);
        return new QuantMatrix(type, rows, cols, MemorySegment.ofArray(blocks).asReadOnly(), blocks);
    }

    /**
     * A read-only view of {@code blocks} (for example a mapped GGUF tensor's bytes, {@code GgufFile.data(tensor)}) as
     * a {@code [rows, cols]} matrix of {@code type}; nothing is copied. GGUF's {@code ne = [cols, rows]}.
     *
     * @throws PrunelabException.InvalidArgument if cols is not a multiple of 32, a dimension is negative, or the segment
     *                                           is not exactly {@link QuantType#matrixBytes} long
     */
    public static QuantMatrix wrap(QuantType type, int rows, int cols, MemorySegment blocks) {
        checkLength(type, rows, cols, blocks.byteSize());
        return new QuantMatrix(type, rows, cols, blocks.asReadOnly(), null);
    }

    private static void checkLength(QuantType type, int rows, int cols, long length) {
        long expected = type.matrixBytes(rows, cols);
        if (length != expected) {
            throw new PrunelabException.InvalidArgument(type + " matrix [" + rows + ", " + cols + "] takes "
                    + expected + " bytes (" + rows + " rows of " + cols / QuantType.BLOCK_SIZE + " blocks of "
                    + type.blockBytes() + " bytes), but " + length + " bytes were given");
        }
    }

    private static int checkedArrayLength(QuantType type, int rows, int cols, long bytes) {
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new PrunelabException.InvalidArgument(type + " matrix [" + rows + ", " + cols + "] takes " + bytes
                    + " bytes, more than one Java array holds");
        }
        return (int) bytes;
    }

    /** The block format. */
    public QuantType type() { return type; }

    /** Number of rows (out_features for a linear weight). */
    public int rows() { return rows; }

    /** Number of columns (in_features), a multiple of 32. */
    public int cols() { return cols; }

    /** Blocks per row, {@code cols / 32}. */
    public int blocksPerRow() { return cols / QuantType.BLOCK_SIZE; }

    /** Bytes of one row's blocks. */
    public int rowBytes() { return blocksPerRow() * type.blockBytes(); }

    /** Bytes of all blocks, {@code rows * rowBytes()}: the size of the GGUF tensor. */
    public long byteSize() { return (long) rows * rowBytes(); }

    /** Whether the bytes live in a Java array owned by this matrix (false: a wrapped, e.g. mapped, segment). */
    public boolean isHeap() { return heap != null; }

    /** The block bytes as a read-only segment, in GGUF's layout (no copy). */
    public MemorySegment blocks() { return blocks; }

    /** The owned array of a heap-backed matrix, or null; package-private so that nothing outside can change it. */
    byte[] heapArray() { return heap; }

    /** A copy of the block bytes, in GGUF's layout. @throws PrunelabException.InvalidArgument beyond 2 GiB */
    public byte[] toByteArray() {
        byte[] out = new byte[checkedArrayLength(type, rows, cols, byteSize())];
        MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, 0, out, 0, out.length);
        return out;
    }

    /**
     * Dequantises rows {@code [from, to)} into {@code dst[dstOff ..]}, row-major {@code [to - from, cols]}, with ggml's
     * {@code dequantize_row_*} arithmetic (bit-identical to ggml and gguf-py).
     *
     * @throws IndexOutOfBoundsException if the row range or the destination range is out of bounds
     */
    public void dequantizeRows(int from, int to, float[] dst, int dstOff) {
        Objects.checkFromToIndex(from, to, rows);
        long count = (long) (to - from) * cols;
        if (dstOff < 0 || count > dst.length - dstOff) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + this + " need " + count
                    + " floats from offset " + dstOff + ", but the destination has " + dst.length);
        }
        int rowBytes = rowBytes();
        byte[] buf = heap != null ? heap : new byte[rowBytes];
        for (int r = from; r < to; r++) {
            int srcOff;
            if (heap != null) {
                srcOff = r * rowBytes;
            } else {
                MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, (long) r * rowBytes, buf, 0, rowBytes);
                srcOff = 0;
            }
            type.dequantize(buf, srcOff, cols, dst, dstOff + (r - from) * cols);
        }
    }

    /** The whole matrix as fp32 (a new {@code [rows, cols]} array; for tests and export, not for the forward pass). */
    public FloatMatrix dequantize() {
        FloatMatrix out = FloatMatrix.zeros(rows, cols);
        dequantizeRows(0, rows, out.data(), 0);
        return out;
    }

    /**
     * Number of stored weights whose dequantised value is not zero (a zero quant, or a block whose scale is zero,
     * gives 0). Reads every block once.
     */
    public long countNonZeros() {
        int rowBytes = rowBytes();
        byte[] buf = new byte[rowBytes];
        long n = 0;
        for (int r = 0; r < rows; r++) {
            MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, (long) r * rowBytes, buf, 0, rowBytes);
            for (int o = 0; o < rowBytes; o += type.blockBytes()) {
                if (QuantType.fp16(buf, o) == 0f) continue;
                for (int j = 0; j < QuantType.BLOCK_SIZE; j++) if (type.quant(buf, o, j) != 0) n++;
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "QuantMatrix[" + type + ", " + rows + " x " + cols + (heap != null ? "" : ", mapped") + "]";
    }
}
