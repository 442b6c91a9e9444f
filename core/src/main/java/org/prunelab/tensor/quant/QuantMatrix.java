package org.prunelab.tensor.quant;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

import java.lang.foreign.Arena;
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
 * <p>The bytes always live outside the Java heap: a matrix built here ({@link #quantize}, {@link #of}) keeps them in
 * GC-managed native memory ({@link Arena#ofAuto()}; it counts against {@code -XX:MaxDirectMemorySize}, by default the
 * maximum heap size), and {@link #wrap} views the caller's native segment (a mapped GGUF tensor) without copying. One kind of segment keeps the Vector API kernels fast: HotSpot profiles the segment
 * classes behind {@code ByteVector.fromMemorySegment} once for the whole JVM, and once it has seen both heap and
 * native segments every quantised product ran 2-3x slower (QuantKernelBench: Q8_0 [1536, 576] matvec 79 us of CPU on
 * heap segments alone, 85 us on native alone, 185-250 us on either after both had been used).
 *
 * <p>Instances are immutable. One made by {@link #wrap} is valid only while the wrapped segment's arena is alive
 * (for a GGUF tensor: until the {@code GgufFile} is closed; reading after that throws {@link IllegalStateException}).
 */
public final class QuantMatrix {
    private final QuantType type;
    private final int rows;
    private final int cols;
    /** The block bytes: a read-only native segment. */
    private final MemorySegment blocks;
    /** Whether {@link #blocks} is the caller's segment (wrap) rather than memory this matrix allocated. */
    private final boolean view;

    private QuantMatrix(QuantType type, int rows, int cols, MemorySegment blocks, boolean view) {
        this.type = type;
        this.rows = rows;
        this.cols = cols;
        this.blocks = blocks.asReadOnly();
        this.view = view;
    }

    /**
     * Round-to-nearest quantisation of {@code w [rows, cols]}, bit-identical to ggml's {@code quantize_row_q8_0_ref}
     * / {@code quantize_row_q4_0_ref} (and gguf-py's {@code gguf.quants.quantize}) applied row by row.
     *
     * @throws PrunelabException.InvalidArgument if {@code w.cols()} is not a multiple of 32
     */
    public static QuantMatrix quantize(QuantType type, FloatMatrix w) {
        MemorySegment out = allocate(type.matrixBytes(w.rows(), w.cols()));
        int rowBytes = (int) type.rowBytes(w.cols());
        byte[] row = new byte[rowBytes];
        for (int r = 0; r < w.rows(); r++) {
            type.quantize(w.data(), r * w.cols(), w.cols(), row, 0);
            MemorySegment.copy(row, 0, out, ValueLayout.JAVA_BYTE, (long) r * rowBytes, rowBytes);
        }
        return new QuantMatrix(type, w.rows(), w.cols(), out, false);
    }

    /**
     * A {@code [rows, cols]} matrix of {@code type} from its block bytes in GGUF's layout (copied into native memory).
     *
     * @throws PrunelabException.InvalidArgument if cols is not a multiple of 32, a dimension is negative, or the array
     *                                           is not exactly {@link QuantType#matrixBytes} long
     */
    public static QuantMatrix of(QuantType type, int rows, int cols, byte[] blocks) {
        checkLength(type, rows, cols, blocks.length);
        MemorySegment out = allocate(blocks.length);
        MemorySegment.copy(blocks, 0, out, ValueLayout.JAVA_BYTE, 0, blocks.length);
        return new QuantMatrix(type, rows, cols, out, false);
    }

    /**
     * A read-only view of {@code blocks} (for example a mapped GGUF tensor's bytes, {@code GgufFile.data(tensor)}) as
     * a {@code [rows, cols]} matrix of {@code type}, GGUF's {@code ne = [cols, rows]}. A native segment (mapped or
     * allocated) is not copied; a heap segment is copied into native memory (see the class comment for why).
     *
     * @throws PrunelabException.InvalidArgument if cols is not a multiple of 32, a dimension is negative, or the segment
     *                                           is not exactly {@link QuantType#matrixBytes} long
     */
    public static QuantMatrix wrap(QuantType type, int rows, int cols, MemorySegment blocks) {
        checkLength(type, rows, cols, blocks.byteSize());
        if (blocks.isNative()) return new QuantMatrix(type, rows, cols, blocks, true);
        MemorySegment out = allocate(blocks.byteSize());
        MemorySegment.copy(blocks, 0, out, 0, blocks.byteSize());
        return new QuantMatrix(type, rows, cols, out, false);
    }

    /** Native memory the garbage collector frees with the last reference; 64-byte aligned (cache lines). */
    private static MemorySegment allocate(long bytes) {
        return Arena.ofAuto().allocate(bytes, 64);
    }

    private static void checkLength(QuantType type, int rows, int cols, long length) {
        long expected = type.matrixBytes(rows, cols);
        if (length != expected) {
            throw new PrunelabException.InvalidArgument(type + " matrix [" + rows + ", " + cols + "] takes "
                    + expected + " bytes (" + rows + " rows of " + cols / QuantType.BLOCK_SIZE + " blocks of "
                    + type.blockBytes() + " bytes), but " + length + " bytes were given");
        }
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

    /** Whether this views the caller's segment ({@link #wrap}: valid while that segment's arena is alive). */
    public boolean isView() { return view; }

    /** The block bytes as a read-only native segment, in GGUF's layout (no copy). */
    public MemorySegment blocks() { return blocks; }

    /** A copy of the block bytes, in GGUF's layout. @throws PrunelabException.InvalidArgument beyond 2 GiB */
    public byte[] toByteArray() {
        long bytes = byteSize();
        if (bytes > Integer.MAX_VALUE - 8) {
            throw new PrunelabException.InvalidArgument(this + " takes " + bytes + " bytes, more than one Java array holds");
        }
        byte[] out = new byte[(int) bytes];
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
        byte[] buf = new byte[rowBytes];
        for (int r = from; r < to; r++) {
            MemorySegment.copy(blocks, ValueLayout.JAVA_BYTE, (long) r * rowBytes, buf, 0, rowBytes);
            type.dequantize(buf, 0, cols, dst, dstOff + (r - from) * cols);
        }
    }

    /**
     * A new matrix of the given rows, in the given order (indices may repeat): {@code out[i, :] = this[rows[i], :]}.
     * Rows are whole blocks, so this is a byte copy with no requantisation; it serves to undo a row permutation (the
     * Q/K RoPE order of llama.cpp's Llama conversions) or to keep a subset of output units.
     *
     * @throws IndexOutOfBoundsException if an index is outside {@code [0, rows())}
     */
    public QuantMatrix selectRows(int[] rows) {
        int rowBytes = rowBytes();
        MemorySegment out = allocate((long) rows.length * rowBytes);
        for (int i = 0; i < rows.length; i++) {
            int r = Objects.checkIndex(rows[i], this.rows);
            MemorySegment.copy(blocks, (long) r * rowBytes, out, (long) i * rowBytes, rowBytes);
        }
        return new QuantMatrix(type, rows.length, cols, out, false);
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
        return "QuantMatrix[" + type + ", " + rows + " x " + cols + (view ? ", view" : "") + "]";
    }
}
