package org.prunelab.tensor.quant;

import org.prunelab.PrunelabException;

/**
 * ggml's two plain round-to-nearest block formats, with the block layouts of ggml's {@code ggml-common.h}
 * and the arithmetic of {@code quantize_row_q8_0_ref} / {@code quantize_row_q4_0_ref} and
 * {@code dequantize_row_q8_0} / {@code dequantize_row_q4_0} in {@code ggml-quants.c} (gguf-py's
 * {@code gguf.quants.Q8_0} / {@code Q4_0} are numpy ports of the same). A block holds {@value #BLOCK_SIZE}
 * consecutive values of one row:
 * <ul>
 *   <li>{@link #Q8_0}, 34 bytes: fp16 scale d (little endian), then 32 int8 q; value j is {@code q[j] * d}.</li>
 *   <li>{@link #Q4_0}, 18 bytes: fp16 scale d, then 16 bytes of nibbles: value j (j &lt; 16) is the low nibble of
 *       byte j, value j + 16 its high nibble; a value is {@code (nibble - 8) * d}.</li>
 * </ul>
 *
 * <p>Quantisation is bit-identical to ggml's reference quantisers for finite input (checked against gguf-py's
 * output in {@code QuantFixtureTest}): all arithmetic is fp32 (Java float arithmetic is IEEE, as C's is with
 * {@code FLT_EVAL_METHOD == 0}), {@code roundf} rounds half away from zero, and the fp32 scale is rounded to fp16
 * to nearest even ({@link Float#floatToFloat16}); the quants use the fp32 scale, the block stores the fp16 one.
 * Where C's arithmetic is undefined (NaN or infinite input, or a block maximum below about 3.7e-37 so that
 * {@code 1 / d} overflows) the quants are saturated to their range instead.
 */
public enum QuantType {
    /** 8-bit: {@code d = amax / 127}, {@code q = roundf(x / d)}. ggml type id 8. */
    Q8_0(8, 34) {
        @Override
        void quantizeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
            float amax = 0f;
            for (int j = 0; j < BLOCK_SIZE; j++) amax = Math.max(amax, Math.abs(x[xOff + j]));
            float d = amax / 127f;
            float id = d != 0f ? 1f / d : 0f;
            putFp16(dst, dstOff, d);
            for (int j = 0; j < BLOCK_SIZE; j++) {
                float q = roundHalfAway(x[xOff + j] * id);
                dst[dstOff + 2 + j] = (byte) Math.clamp((int) q, -128, 127);
            }
        }

        @Override
        void dequantizeBlock(byte[] src, int srcOff, float[] dst, int dstOff) {
            float d = fp16(src, srcOff);
            for (int j = 0; j < BLOCK_SIZE; j++) dst[dstOff + j] = src[srcOff + 2 + j] * d;
        }

        @Override
        int quant(byte[] src, int blockOff, int j) {
            return src[blockOff + 2 + j];
        }
    },

    /** 4-bit: the signed value m of largest magnitude gives {@code d = m / -8}; {@code q = min(15, trunc(x / d + 8.5))}. ggml type id 2. */
    Q4_0(2, 18) {
        @Override
        void quantizeBlock(float[] x, int xOff, byte[] dst, int dstOff) {
            // ggml keeps the first value of largest magnitude, with its sign, starting from +0.0f; an all-zero
            // block therefore gets d = +0.0f / -8 = -0.0f (fp16 0x8000), whatever the zeros' signs.
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < BLOCK_SIZE; j++) {
                float v = x[xOff + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / -8f;
            float id = d != 0f ? 1f / d : 0f;
            putFp16(dst, dstOff, d);
            for (int j = 0; j < BLOCK_SIZE / 2; j++) {
                int lo = nibble(x[xOff + j] * id);
                int hi = nibble(x[xOff + BLOCK_SIZE / 2 + j] * id);
                dst[dstOff + 2 + j] = (byte) (lo | hi << 4);
            }
        }

        /** C's {@code MIN(15, (int8_t)(v + 8.5f))}; v + 8.5 lies in [0.5, 16.5] for finite input. */
        private static int nibble(float v) {
            return Math.clamp((int) (v + 8.5f), 0, 15);
        }

        @Override
        void dequantizeBlock(byte[] src, int srcOff, float[] dst, int dstOff) {
            float d = fp16(src, srcOff);
            for (int j = 0; j < BLOCK_SIZE / 2; j++) {
                int q = src[srcOff + 2 + j] & 0xFF;
                dst[dstOff + j] = ((q & 0x0F) - 8) * d;
                dst[dstOff + j + BLOCK_SIZE / 2] = ((q >>> 4) - 8) * d;
            }
        }

        @Override
        int quant(byte[] src, int blockOff, int j) {
            int q = src[blockOff + 2 + (j & 15)] & 0xFF;
            return (j < 16 ? q & 0x0F : q >>> 4) - 8;
        }
    };

    /** Values per block, {@code QK8_0 = QK4_0 = 32}. */
    public static final int BLOCK_SIZE = 32;

    private final int ggmlTypeId;
    private final int blockBytes;

    QuantType(int ggmlTypeId, int blockBytes) {
        this.ggmlTypeId = ggmlTypeId;
        this.blockBytes = blockBytes;
    }

    /** The id of this type in ggml's {@code ggml_type} enum and in GGUF tensor infos (Q8_0 = 8, Q4_0 = 2). */
    public int ggmlTypeId() { return ggmlTypeId; }

    /** Bytes per block of {@value #BLOCK_SIZE} values (34 for Q8_0, 18 for Q4_0). */
    public int blockBytes() { return blockBytes; }

    /**
     * Bytes one row of {@code cols} values occupies.
     *
     * @throws PrunelabException.InvalidArgument if cols is negative or not a multiple of {@value #BLOCK_SIZE}
     */
    public long rowBytes(int cols) {
        checkCols(cols, "a row");
        return (long) cols / BLOCK_SIZE * blockBytes;
    }

    /**
     * Bytes a {@code [rows, cols]} matrix occupies (rows after rows, no padding, as in a GGUF tensor).
     *
     * @throws PrunelabException.InvalidArgument if a dimension is negative or cols is not a multiple of {@value #BLOCK_SIZE}
     */
    public long matrixBytes(int rows, int cols) {
        if (rows < 0) throw new PrunelabException.InvalidArgument(this + " matrix [" + rows + ", " + cols + "]: negative row count");
        checkCols(cols, "matrix [" + rows + ", " + cols + "]");
        return rows * rowBytes(cols);
    }

    void checkCols(int cols, String what) {
        if (cols < 0 || cols % BLOCK_SIZE != 0) {
            throw new PrunelabException.InvalidArgument(this + " " + what + " has " + cols + " columns, but " + this
                    + " stores rows in blocks of " + BLOCK_SIZE + " values, so in_features must be a non-negative multiple of "
                    + BLOCK_SIZE + ". Keep such a layer in another format (dense fp32).");
        }
    }

    /**
     * Quantises {@code count} values (whole blocks) of {@code x} from {@code xOff} into {@code dst} from {@code dstOff},
     * round-to-nearest as ggml's {@code quantize_row_*_ref}.
     *
     * @throws PrunelabException.InvalidArgument if count is not a non-negative multiple of {@value #BLOCK_SIZE}
     * @throws IndexOutOfBoundsException if a range lies outside its array
     */
    public void quantize(float[] x, int xOff, int count, byte[] dst, int dstOff) {
        checkCols(count, "a run of values");
        java.util.Objects.checkFromIndexSize(xOff, count, x.length);
        java.util.Objects.checkFromIndexSize(dstOff, count / BLOCK_SIZE * blockBytes, dst.length);
        for (int b = 0; b < count / BLOCK_SIZE; b++) {
            quantizeBlock(x, xOff + b * BLOCK_SIZE, dst, dstOff + b * blockBytes);
        }
    }

    /**
     * Dequantises {@code count} values (whole blocks) whose blocks start at {@code src[srcOff]} into
     * {@code dst[dstOff ..]}, as ggml's {@code dequantize_row_*}: one fp32 multiplication per value, so the result is
     * bit-identical to ggml and gguf-py.
     *
     * @throws PrunelabException.InvalidArgument if count is not a non-negative multiple of {@value #BLOCK_SIZE}
     * @throws IndexOutOfBoundsException if a range lies outside its array
     */
    public void dequantize(byte[] src, int srcOff, int count, float[] dst, int dstOff) {
        checkCols(count, "a run of values");
        java.util.Objects.checkFromIndexSize(srcOff, count / BLOCK_SIZE * blockBytes, src.length);
        java.util.Objects.checkFromIndexSize(dstOff, count, dst.length);
        for (int b = 0; b < count / BLOCK_SIZE; b++) {
            dequantizeBlock(src, srcOff + b * blockBytes, dst, dstOff + b * BLOCK_SIZE);
        }
    }

    abstract void quantizeBlock(float[] x, int xOff, byte[] dst, int dstOff);

    abstract void dequantizeBlock(byte[] src, int srcOff, float[] dst, int dstOff);

    /** The integer quant of value j (0..31) of the block at {@code src[blockOff]}: q for Q8_0, nibble - 8 for Q4_0. */
    abstract int quant(byte[] src, int blockOff, int j);

    /** The block's scale d: the little-endian fp16 at the block's start, widened exactly to fp32. */
    static float fp16(byte[] b, int o) {
        return Float.float16ToFloat((short) ((b[o] & 0xFF) | (b[o + 1] << 8)));
    }

    private static void putFp16(byte[] b, int o, float v) {
        short h = Float.floatToFloat16(v); // round to nearest even, as ggml's GGML_FP32_TO_FP16 and numpy's astype
        b[o] = (byte) h;
        b[o + 1] = (byte) (h >> 8);
    }

    /** C's {@code roundf}: to the nearest integer, halfway cases away from zero (not {@link Math#round}, which rounds -2.5 to -2). */
    static float roundHalfAway(float v) {
        float a = Math.abs(v);
        float f = (float) Math.floor(a);
        if (a - f >= 0.5f) f += 1f; // a - f is exact: f has a's sign and exponent or is zero
        return Math.copySign(f, v);
    }
}
