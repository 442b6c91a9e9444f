package org.prunelab.prune;

import org.prunelab.tensor.quant.QuantType;

/**
 * The arithmetic of GGUF's Q8_0 / Q4_0 grids one value at a time, as GPTQ needs it: a group's scale is fixed when
 * the sweep reaches the group's first column, then each column is rounded with it as it comes. The rules are
 * llama.cpp's {@code quantize_row_q8_0_ref} / {@code quantize_row_q4_0_ref} ({@code ggml-quants.c}), all in fp32:
 *
 * <ul>
 *   <li>Q8_0: {@code d = amax / 127}; {@code q = roundf(x * (1 / d))}, halfway away from zero; value {@code q * fp16(d)}.</li>
 *   <li>Q4_0: {@code m} = the first value of largest magnitude, with its sign; {@code d = m / -8};
 *       {@code q = min(15, (int)(x * (1 / d) + 8.5f))}; value {@code (q - 8) * fp16(d)}.</li>
 * </ul>
 *
 * The codes use the fp32 scale's inverse and the block stores the scale rounded to fp16 (nearest even), exactly as
 * llama.cpp does; the value a block holds, and so the error GPTQ propagates, uses the fp16 scale. Values outside the
 * group's range (GPTQ's updates can push a weight past the scale's maximum) are clamped to the format's codes, Q8_0's
 * [-128, 127] and Q4_0's [0, 15], as the GPTQ reference's quantiser clamps to its grid.
 *
 * <p>Block bytes follow {@code ggml-common.h}: the fp16 scale little-endian, then Q8_0's 32 int8 codes, or Q4_0's 16
 * bytes whose low nibble is value j and high nibble value j + 16.
 */
final class GroupGrid {
    static final int GROUP = QuantSpec.GROUP;

    private GroupGrid() {}

    /** The fp32 scale llama.cpp picks for the {@value #GROUP} values {@code g[0..32)}. */
    static float scale(QuantType f, float[] g) {
        return switch (f) {
            case Q8_0 -> {
                float amax = 0f;
                for (int j = 0; j < GROUP; j++) amax = Math.max(amax, Math.abs(g[j]));
                yield amax / 127f;
            }
            case Q4_0 -> {
                // The first value of largest magnitude, starting from +0.0f: an all-zero group gives d = -0.0f.
                float amax = 0f;
                float max = 0f;
                for (int j = 0; j < GROUP; j++) {
                    if (amax < Math.abs(g[j])) {
                        amax = Math.abs(g[j]);
                        max = g[j];
                    }
                }
                yield max / -8f;
            }
        };
    }

    /** llama.cpp's {@code id = d ? 1.0f / d : 0.0f}. */
    static float inverse(float d) {
        return d != 0f ? 1f / d : 0f;
    }

    /** The code of value {@code x} with inverse scale {@code id}, clamped to the format's range. */
    static int code(QuantType f, float x, float id) {
        return switch (f) {
            case Q8_0 -> Math.clamp((int) roundHalfAway(x * id), -128, 127);
            case Q4_0 -> Math.clamp((int) (x * id + 8.5f), 0, 15);
        };
    }

    /** The code of an exact zero (a pruned weight): 0 for Q8_0, 8 for Q4_0. */
    static int zeroCode(QuantType f) {
        return f == QuantType.Q4_0 ? 8 : 0;
    }

    /** The value code {@code q} stands for with the stored (fp16-rounded, widened) scale {@code dh}; exact in fp32. */
    static float value(QuantType f, int q, float dh) {
        return f == QuantType.Q4_0 ? (q - 8) * dh : q * dh;
    }

    /** fp32 to fp16 bits, round to nearest even (ggml's GGML_FP32_TO_FP16). */
    static short half(float d) {
        return Float.floatToFloat16(d);
    }

    /** C's {@code roundf}: halfway cases away from zero. */
    static float roundHalfAway(float v) {
        float a = Math.abs(v);
        float f = (float) Math.floor(a);
        if (a - f >= 0.5f) f += 1f; // exact: f is 0 or within a factor 2 of a
        return Math.copySign(f, v);
    }

    /** Byte offset of the block holding (r, c) in a row-major {@code [rows, cols]} matrix of blocks. */
    static int blockOffset(QuantType f, int cols, int r, int c) {
        return (r * (cols / GROUP) + c / GROUP) * f.blockBytes();
    }

    static void putScale(QuantType f, byte[] blocks, int cols, int r, int c, short half) {
        int o = blockOffset(f, cols, r, c);
        blocks[o] = (byte) half;
        blocks[o + 1] = (byte) (half >> 8);
    }

    static float scaleAt(QuantType f, byte[] blocks, int cols, int r, int c) {
        int o = blockOffset(f, cols, r, c);
        return Float.float16ToFloat((short) ((blocks[o] & 0xFF) | (blocks[o + 1] << 8)));
    }

    static void putCode(QuantType f, byte[] blocks, int cols, int r, int c, int q) {
        int o = blockOffset(f, cols, r, c) + 2;
        int j = c % GROUP;
        if (f == QuantType.Q8_0) {
            blocks[o + j] = (byte) q;
        } else if (j < GROUP / 2) {
            blocks[o + j] = (byte) ((blocks[o + j] & 0xF0) | q);
        } else {
            blocks[o + j - GROUP / 2] = (byte) ((blocks[o + j - GROUP / 2] & 0x0F) | q << 4);
        }
    }

    /** The code of (r, c): Q8_0's signed int8, Q4_0's nibble in [0, 15]. */
    static int codeAt(QuantType f, byte[] blocks, int cols, int r, int c) {
        int o = blockOffset(f, cols, r, c) + 2;
        int j = c % GROUP;
        if (f == QuantType.Q8_0) return blocks[o + j];
        int b = blocks[o + (j & 15)] & 0xFF;
        return j < GROUP / 2 ? b & 0x0F : b >>> 4;
    }
}
