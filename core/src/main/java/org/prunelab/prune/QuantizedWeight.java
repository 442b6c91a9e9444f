package org.prunelab.prune;

import java.util.Arrays;
import org.prunelab.tensor.FloatMatrix;

/**
 * A {@code [rows, cols]} = {@code [out_features, in_features]} weight in a GGUF block format: the bytes of its
 * {@code rows x cols / 32} blocks, row after row, exactly as a GGUF tensor of that type stores them (so an exporter
 * copies them). Immutable.
 */
public final class QuantizedWeight {
    private final QuantSpec.Format format;
    private final int rows;
    private final int cols;
    private final byte[] blocks;

    /**
     * @param blocks {@code rows * cols / 32 * format.blockBytes()} bytes; copied
     * @throws IllegalArgumentException if cols is not a multiple of 32 or the byte count does not fit the shape
     */
    public QuantizedWeight(QuantSpec.Format format, int rows, int cols, byte[] blocks) {
        this(format, rows, cols, blocks.clone(), true);
    }

    /** Takes {@code blocks} without copying (package code that just built them). */
    QuantizedWeight(QuantSpec.Format format, int rows, int cols, byte[] blocks, boolean owned) {
        if (cols % QuantSpec.GROUP != 0 || rows < 0) {
            throw new IllegalArgumentException(format + " weight [" + rows + ", " + cols + "]: cols must be a multiple of "
                    + QuantSpec.GROUP);
        }
        if (blocks.length != bytes(format, rows, cols)) {
            throw new IllegalArgumentException(format + " weight [" + rows + ", " + cols + "] needs "
                    + bytes(format, rows, cols) + " bytes, got " + blocks.length);
        }
        this.format = format;
        this.rows = rows;
        this.cols = cols;
        this.blocks = blocks;
    }

    /** Bytes of a {@code [rows, cols]} matrix in {@code format}. */
    static int bytes(QuantSpec.Format format, int rows, int cols) {
        return Math.multiplyExact(rows, cols / QuantSpec.GROUP * format.blockBytes());
    }

    /**
     * Round-to-nearest with llama.cpp's reference quantiser ({@code quantize_row_q8_0_ref} / {@code quantize_row_q4_0_ref}),
     * block by block along each row.
     *
     * @param weight {@code [out_features, in_features]}, in_features a multiple of 32; not modified
     * @throws IllegalArgumentException if in_features is not a multiple of 32
     */
    public static QuantizedWeight rtn(QuantSpec.Format format, FloatMatrix weight) {
        int rows = weight.rows();
        int cols = weight.cols();
        if (cols % QuantSpec.GROUP != 0) {
            throw new IllegalArgumentException(format + " needs in_features divisible by " + QuantSpec.GROUP + ", got " + weight);
        }
        byte[] out = new byte[bytes(format, rows, cols)];
        float[] w = weight.data();
        float[] g = new float[QuantSpec.GROUP];
        for (int r = 0; r < rows; r++) {
            for (int c0 = 0; c0 < cols; c0 += QuantSpec.GROUP) {
                System.arraycopy(w, r * cols + c0, g, 0, QuantSpec.GROUP);
                float d = GroupGrid.scale(format, g);
                float id = GroupGrid.inverse(d);
                GroupGrid.putScale(format, out, cols, r, c0, GroupGrid.half(d));
                for (int j = 0; j < QuantSpec.GROUP; j++) {
                    GroupGrid.putCode(format, out, cols, r, c0 + j, GroupGrid.code(format, g[j], id));
                }
            }
        }
        return new QuantizedWeight(format, rows, cols, out, true);
    }

    public QuantSpec.Format format() { return format; }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** A copy of the GGUF block bytes, {@code rows * cols / 32} blocks, row-major. */
    public byte[] blocks() { return blocks.clone(); }

    /** The integer code of weight (r, c): Q8_0's int8 in [-128, 127], Q4_0's nibble in [0, 15]. */
    public int code(int r, int c) { return GroupGrid.codeAt(format, blocks, cols, r, c); }

    /** The fp16 scale of the block holding weight (r, c), widened to fp32. */
    public float scale(int r, int c) { return GroupGrid.scaleAt(format, blocks, cols, r, c); }

    /** Weight (r, c) as the block stores it: {@code q * d} (Q8_0) or {@code (q - 8) * d} (Q4_0), exact in fp32. */
    public float value(int r, int c) { return GroupGrid.value(format, code(r, c), scale(r, c)); }

    /** Every weight as stored, {@code [rows, cols]} fp32 (dequantised exactly; ggml's {@code dequantize_row_*}). */
    public FloatMatrix dequantize() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) out[r * cols + c] = value(r, c);
        }
        return new FloatMatrix(rows, cols, out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantizedWeight q && q.format == format && q.rows == rows && q.cols == cols
                && Arrays.equals(q.blocks, blocks);
    }

    @Override
    public int hashCode() { return 31 * (31 * format.hashCode() + rows) + Arrays.hashCode(blocks); }

    @Override
    public String toString() { return "QuantizedWeight[" + format + ", " + rows + " x " + cols + "]"; }
}
