package org.prunelab.io;

import org.prunelab.tensor.quant.QuantType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Turns ggml-encoded tensor bytes into fp32, one block at a time, following the block layouts of
 * ggml's {@code ggml-common.h} ({@code block_q4_0}, {@code block_q4_1}, {@code block_q5_0}, {@code block_q5_1},
 * {@code block_q8_0}, {@code block_q4_K}, {@code block_q5_K}, {@code block_q6_K}) and the arithmetic of its {@code dequantize_row_*}
 * functions, so results are bit-identical to ggml and to gguf-py's {@code gguf.quants.dequantize}
 * (each value is one or two fp32 multiplications and at most one addition, in the same order). Q8_0 and Q4_0 are
 * decoded by {@link QuantType}, the one implementation of those two layouts.
 *
 * <p>Scalar code: bytes are copied from the mapped file into a small buffer in chunks and decoded from
 * the array, which keeps the inner loops free of bounds-checked segment accesses.
 */
public final class GgmlDequant {
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Elements decoded per chunk: big enough to amortise the copy, small enough to stay in cache. */
    private static final int CHUNK_ELEMENTS = 16 * 1024;

    private GgmlDequant() {}

    /** Decodes one block starting at {@code src[srcOff]} into {@code dst[dstOff ..]}. */
    @FunctionalInterface
    private interface BlockDecoder {
        void decode(byte[] src, int srcOff, float[] dst, int dstOff);
    }

    /**
     * Dequantises {@code count} values of {@code type} read from the start of {@code src} into
     * {@code dst[dstOffset .. dstOffset + count)}.
     *
     * @param count number of values; a multiple of {@code type.blockSize()}
     * @throws IllegalArgumentException if the type is not {@link GgmlType#isDequantisable() dequantisable},
     *                                  {@code count} is not whole blocks, or {@code src} is too short
     */
    public static void dequantize(GgmlType type, MemorySegment src, float[] dst, int dstOffset, int count) {
        long bytes = type.byteSize(count);
        if (src.byteSize() < bytes) {
            throw new IllegalArgumentException(count + " " + type + " values need " + bytes + " bytes, source has "
                    + src.byteSize());
        }
        switch (type) {
            case F32 -> MemorySegment.copy(src, F32_LE, 0, dst, dstOffset, count);
            case F16 -> halves(src, dst, dstOffset, count, false);
            case BF16 -> halves(src, dst, dstOffset, count, true);
            case Q8_0 -> blocks(type, src, dst, dstOffset, count, (b, o, y, yo) -> QuantType.Q8_0.dequantize(b, o, 32, y, yo));
            case Q4_0 -> blocks(type, src, dst, dstOffset, count, (b, o, y, yo) -> QuantType.Q4_0.dequantize(b, o, 32, y, yo));
            case Q4_1 -> blocks(type, src, dst, dstOffset, count, GgmlDequant::q4_1);
            case Q5_0 -> blocks(type, src, dst, dstOffset, count, GgmlDequant::q5_0);
            case Q5_1 -> blocks(type, src, dst, dstOffset, count, GgmlDequant::q5_1);
            case Q4_K -> blocks(type, src, dst, dstOffset, count, GgmlDequant::q4_K);
            case Q5_K -> blocks(type, src, dst, dstOffset, count, GgmlDequant::q5_K);
            case Q6_K -> blocks(type, src, dst, dstOffset, count, GgmlDequant::q6_K);
            default -> throw new IllegalArgumentException("no dequantisation for ggml type " + type
                    + "; supported: " + GgmlType.DEQUANTISABLE);
        }
    }

    /** Convenience form of {@link #dequantize(GgmlType, MemorySegment, float[], int, int)} into a new array. */
    public static float[] dequantize(GgmlType type, MemorySegment src, int count) {
        float[] out = new float[count];
        dequantize(type, src, out, 0, count);
        return out;
    }

    /** fp16 (IEEE binary16) or bfloat16 (the top half of an fp32) to fp32; both conversions are exact. */
    private static void halves(MemorySegment src, float[] dst, int dstOffset, int count, boolean bf16) {
        short[] buf = new short[Math.min(count, CHUNK_ELEMENTS)];
        for (int start = 0; start < count; start += buf.length) {
            int n = Math.min(buf.length, count - start);
            MemorySegment.copy(src, I16_LE, 2L * start, buf, 0, n);
            for (int i = 0; i < n; i++) {
                dst[dstOffset + start + i] = bf16 ? Float.intBitsToFloat(buf[i] << 16) : Float.float16ToFloat(buf[i]);
            }
        }
    }

    private static void blocks(GgmlType type, MemorySegment src, float[] dst, int dstOffset, int count,
                               BlockDecoder decoder) {
        int blockSize = type.blockSize();
        int typeSize = type.typeSize();
        int totalBlocks = count / blockSize;
        int chunkBlocks = Math.max(1, CHUNK_ELEMENTS / blockSize);
        byte[] buf = new byte[Math.min(totalBlocks, chunkBlocks) * typeSize];
        for (int b0 = 0; b0 < totalBlocks; b0 += chunkBlocks) {
            int nb = Math.min(chunkBlocks, totalBlocks - b0);
            MemorySegment.copy(src, ValueLayout.JAVA_BYTE, (long) b0 * typeSize, buf, 0, nb * typeSize);
            for (int b = 0; b < nb; b++) {
                decoder.decode(buf, b * typeSize, dst, dstOffset + (b0 + b) * blockSize);
            }
        }
    }

    /** Little-endian fp16 at {@code b[o]}. */
    private static float fp16(byte[] b, int o) {
        return Float.float16ToFloat((short) ((b[o] & 0xFF) | (b[o + 1] << 8)));
    }

    /** block_q4_1: fp16 d, fp16 m, uint8 qs[16]; nibble order as Q4_0; x = q * d + m. */
    private static void q4_1(byte[] b, int o, float[] y, int yo) {
        float d = fp16(b, o);
        float m = fp16(b, o + 2);
        for (int j = 0; j < 16; j++) {
            int q = b[o + 4 + j] & 0xFF;
            y[yo + j] = (q & 0x0F) * d + m;
            y[yo + j + 16] = (q >>> 4) * d + m;
        }
    }

    /** Little-endian uint32 at {@code b[o]}. */
    private static int u32(byte[] b, int o) {
        return (b[o] & 0xFF) | (b[o + 1] & 0xFF) << 8 | (b[o + 2] & 0xFF) << 16 | (b[o + 3] & 0xFF) << 24;
    }

    /**
     * block_q5_0: fp16 d, uint32 qh (bit j is the fifth bit of value j), uint8 qs[16] (nibbles as Q4_0);
     * x = (q - 16) * d.
     */
    private static void q5_0(byte[] b, int o, float[] y, int yo) {
        float d = fp16(b, o);
        int qh = u32(b, o + 2);
        for (int j = 0; j < 16; j++) {
            int q = b[o + 6 + j] & 0xFF;
            int x0 = ((q & 0x0F) | (((qh >>> j) << 4) & 0x10)) - 16;
            int x1 = ((q >>> 4) | ((qh >>> (j + 12)) & 0x10)) - 16;
            y[yo + j] = x0 * d;
            y[yo + j + 16] = x1 * d;
        }
    }

    /** block_q5_1: fp16 d, fp16 m, uint32 qh, uint8 qs[16]; bits as Q5_0; x = q * d + m. */
    private static void q5_1(byte[] b, int o, float[] y, int yo) {
        float d = fp16(b, o);
        float m = fp16(b, o + 2);
        int qh = u32(b, o + 4);
        for (int j = 0; j < 16; j++) {
            int q = b[o + 8 + j] & 0xFF;
            int x0 = (q & 0x0F) | (((qh >>> j) << 4) & 0x10);
            int x1 = (q >>> 4) | ((qh >>> (j + 12)) & 0x10);
            y[yo + j] = x0 * d + m;
            y[yo + j + 16] = x1 * d + m;
        }
    }

    /**
     * block_q5_K (256 values): fp16 d, fp16 dmin, scales[12] (packed as Q4_K), qh[32], qs[128]. Sub-blocks as Q4_K;
     * the fifth bit of value l of sub-block s is bit s of qh[l]. x = d * scale[s] * q - dmin * min[s].
     */
    private static void q5_K(byte[] b, int o, float[] y, int yo) {
        float d = fp16(b, o);
        float dmin = fp16(b, o + 2);
        int scales = o + 4;
        int qh = o + 16;
        int qs = o + 48;
        for (int group = 0; group < 4; group++) {
            int s = 2 * group;
            float d1 = d * scaleK4(b, scales, s);
            float m1 = dmin * minK4(b, scales, s);
            float d2 = d * scaleK4(b, scales, s + 1);
            float m2 = dmin * minK4(b, scales, s + 1);
            int q = qs + 32 * group;
            int out = yo + 64 * group;
            for (int l = 0; l < 32; l++) {
                int v = b[q + l] & 0xFF;
                int h = b[qh + l] & 0xFF;
                y[out + l] = d1 * ((v & 0x0F) + (((h >>> s) & 1) << 4)) - m1;
                y[out + 32 + l] = d2 * ((v >>> 4) + (((h >>> (s + 1)) & 1) << 4)) - m2;
            }
        }
    }

    /**
     * block_q4_K (256 values): fp16 d, fp16 dmin, scales[12] (eight 6-bit scales and eight 6-bit mins,
     * packed), qs[128]. Each 32-byte run of qs holds two sub-blocks of 32: low nibbles then high nibbles.
     * x = d * scale[s] * q - dmin * min[s].
     */
    private static void q4_K(byte[] b, int o, float[] y, int yo) {
        float d = fp16(b, o);
        float dmin = fp16(b, o + 2);
        int scales = o + 4;
        int qs = o + 16;
        for (int group = 0; group < 4; group++) {
            int s = 2 * group;
            float d1 = d * scaleK4(b, scales, s);
            float m1 = dmin * minK4(b, scales, s);
            float d2 = d * scaleK4(b, scales, s + 1);
            float m2 = dmin * minK4(b, scales, s + 1);
            int q = qs + 32 * group;
            int out = yo + 64 * group;
            for (int l = 0; l < 32; l++) {
                int v = b[q + l] & 0xFF;
                y[out + l] = d1 * (v & 0x0F) - m1;
                y[out + 32 + l] = d2 * (v >>> 4) - m2;
            }
        }
    }

    /** Sub-block {@code j}'s 6-bit scale: j < 4 in the low 6 bits of bytes 0..3, else split over bytes 8..11 and 0..3. */
    private static int scaleK4(byte[] b, int scales, int j) {
        if (j < 4) return b[scales + j] & 63;
        return (b[scales + j + 4] & 0x0F) | (((b[scales + j - 4] & 0xFF) >>> 6) << 4);
    }

    /** Sub-block {@code j}'s 6-bit min: j < 4 in the low 6 bits of bytes 4..7, else split over bytes 8..11 and 4..7. */
    private static int minK4(byte[] b, int scales, int j) {
        if (j < 4) return b[scales + j + 4] & 63;
        return ((b[scales + j + 4] & 0xFF) >>> 4) | (((b[scales + j] & 0xFF) >>> 6) << 4);
    }

    /**
     * block_q6_K (256 values): ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], fp16 d last.
     * Each half of 128 values uses 64 bytes of ql, 32 of qh and 8 scales (one per 16 values);
     * x = d * scale * (q - 32).
     */
    private static void q6_K(byte[] b, int o, float[] y, int yo) {
        float d = fp16(b, o + 208);
        for (int half = 0; half < 2; half++) {
            int ql = o + 64 * half;
            int qh = o + 128 + 32 * half;
            int sc = o + 192 + 8 * half;
            int out = yo + 128 * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int lo0 = b[ql + l] & 0xFF;
                int lo1 = b[ql + l + 32] & 0xFF;
                int hi = b[qh + l] & 0xFF;
                int q1 = ((lo0 & 0x0F) | ((hi & 3) << 4)) - 32;
                int q2 = ((lo1 & 0x0F) | (((hi >>> 2) & 3) << 4)) - 32;
                int q3 = ((lo0 >>> 4) | (((hi >>> 4) & 3) << 4)) - 32;
                int q4 = ((lo1 >>> 4) | (((hi >>> 6) & 3) << 4)) - 32;
                y[out + l] = d * b[sc + is] * q1;
                y[out + l + 32] = d * b[sc + is + 2] * q2;
                y[out + l + 64] = d * b[sc + is + 4] * q3;
                y[out + l + 96] = d * b[sc + is + 6] * q4;
            }
        }
    }
}
