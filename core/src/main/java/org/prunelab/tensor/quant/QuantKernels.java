package org.prunelab.tensor.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.tensor.VectorMath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Products of a {@link QuantMatrix} with fp32 activations on the JDK Vector API, reading the blocks where they lie
 * (heap or mapped segment) and widening each block's quants to floats in registers: {@code y[t, r] = sum_c W[r, c]
 * x[t, c]} over rows {@code [from, to)}, single-threaded (callers split rows over threads).
 *
 * <p>Per block the 32 quants are widened (int8 to fp32, or nibble - 8 to fp32) and multiplied into an fp32 partial
 * sum with the activations; the partial sum is scaled by the block's d once ({@code acc += d * sum_j q_j x_j}). This
 * beat quantising x to Q8_0 and multiplying int8 by int8 (llama.cpp's approach), which the Vector API can only
 * express as int8 -> int16 products widened again to int32 (no {@code vpdpbusd}); the comparison is
 * {@code org.prunelab.bench.QuantKernelBench}'s and its numbers are in {@link QuantLinear}'s comment.
 *
 * <p>The vector path needs 8 or 16 float lanes (AVX2, AVX-512); other shapes run {@link #dotScalar}.
 */
final class QuantKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int V = F.length();
    /** Bytes widened per step: as many as there are float lanes. */
    private static final VectorSpecies<Byte> B = V >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    static final boolean VECTOR = V == 8 || V == 16;
    private static final ValueLayout.OfShort FP16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int BLOCK = QuantType.BLOCK_SIZE;
    /** Tokens one pass of {@link #multiToken} serves per weight read. */
    static final int TOKEN_GROUP = 4;

    private QuantKernels() {}

    /** y[yOff + r] = W[r, :] . x[xOff ..] for r in [from, to). */
    static void matvec(QuantMatrix w, float[] x, int xOff, float[] y, int yOff, int from, int to) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        long rowBytes = w.rowBytes();
        if (!VECTOR) {
            for (int r = from; r < to; r++) y[yOff + r] = dotScalar(w, r, x, xOff);
            return;
        }
        boolean q8 = w.type() == QuantType.Q8_0;
        int r = from;
        for (; r + 4 <= to; r += 4) {
            if (q8) q8Rows4(m, r * rowBytes, rowBytes, nb, x, xOff, y, yOff + r);
            else q4Rows4(m, r * rowBytes, rowBytes, nb, x, xOff, y, yOff + r);
        }
        for (; r < to; r++) {
            y[yOff + r] = q8 ? q8Row(m, r * rowBytes, nb, x, xOff) : q4Row(m, r * rowBytes, nb, x, xOff);
        }
    }

    private static float scale(MemorySegment m, long blockOff) {
        return Float.float16ToFloat(m.get(FP16, blockOff));
    }

    /** Quants at {@code m[off .. off + V)} widened to floats. */
    private static FloatVector q8(MemorySegment m, long off) {
        return (FloatVector) ByteVector.fromMemorySegment(B, m, off, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /** Four rows at once: each x vector is loaded once and used four times. */
    private static void q8Rows4(MemorySegment m, long o0, long rowBytes, int nb, float[] x, int xOff, float[] y, int yAt) {
        long o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < nb; b++) {
            int xb = xOff + b * BLOCK;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int c = 0; c < BLOCK; c += V) {
                FloatVector xv = FloatVector.fromArray(F, x, xb + c);
                s0 = q8(m, o0 + 2 + c).fma(xv, s0);
                s1 = q8(m, o1 + 2 + c).fma(xv, s1);
                s2 = q8(m, o2 + 2 + c).fma(xv, s2);
                s3 = q8(m, o3 + 2 + c).fma(xv, s3);
            }
            a0 = s0.fma(FloatVector.broadcast(F, scale(m, o0)), a0);
            a1 = s1.fma(FloatVector.broadcast(F, scale(m, o1)), a1);
            a2 = s2.fma(FloatVector.broadcast(F, scale(m, o2)), a2);
            a3 = s3.fma(FloatVector.broadcast(F, scale(m, o3)), a3);
            o0 += 34;
            o1 += 34;
            o2 += 34;
            o3 += 34;
        }
        y[yAt] = VectorMath.sumLanes(a0);
        y[yAt + 1] = VectorMath.sumLanes(a1);
        y[yAt + 2] = VectorMath.sumLanes(a2);
        y[yAt + 3] = VectorMath.sumLanes(a3);
    }

    private static float q8Row(MemorySegment m, long o, int nb, float[] x, int xOff) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, o += 34) {
            int xb = xOff + b * BLOCK;
            FloatVector s = FloatVector.zero(F);
            for (int c = 0; c < BLOCK; c += V) s = q8(m, o + 2 + c).fma(FloatVector.fromArray(F, x, xb + c), s);
            acc = s.fma(FloatVector.broadcast(F, scale(m, o)), acc);
        }
        return VectorMath.sumLanes(acc);
    }

    /**
     * Q4_0 quants: byte i of the 16 holds value i (low nibble) and value i + 16 (high nibble); {@code lo} / {@code hi}
     * widen bytes {@code [c, c + V)} of the block's 16 to {@code nibble - 8} as floats.
     */
    private static FloatVector lo(ByteVector q) {
        return (FloatVector) q.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    private static FloatVector hi(ByteVector q) {
        return (FloatVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0);
    }

    private static ByteVector nibbles(MemorySegment m, long off) {
        return ByteVector.fromMemorySegment(B, m, off, LE);
    }

    private static void q4Rows4(MemorySegment m, long o0, long rowBytes, int nb, float[] x, int xOff, float[] y, int yAt) {
        long o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < nb; b++) {
            int xb = xOff + b * BLOCK;
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int c = 0; c < BLOCK / 2; c += V) {
                FloatVector xl = FloatVector.fromArray(F, x, xb + c);
                FloatVector xh = FloatVector.fromArray(F, x, xb + BLOCK / 2 + c);
                ByteVector q0 = nibbles(m, o0 + 2 + c), q1 = nibbles(m, o1 + 2 + c);
                ByteVector q2 = nibbles(m, o2 + 2 + c), q3 = nibbles(m, o3 + 2 + c);
                s0 = hi(q0).fma(xh, lo(q0).fma(xl, s0));
                s1 = hi(q1).fma(xh, lo(q1).fma(xl, s1));
                s2 = hi(q2).fma(xh, lo(q2).fma(xl, s2));
                s3 = hi(q3).fma(xh, lo(q3).fma(xl, s3));
            }
            a0 = s0.fma(FloatVector.broadcast(F, scale(m, o0)), a0);
            a1 = s1.fma(FloatVector.broadcast(F, scale(m, o1)), a1);
            a2 = s2.fma(FloatVector.broadcast(F, scale(m, o2)), a2);
            a3 = s3.fma(FloatVector.broadcast(F, scale(m, o3)), a3);
            o0 += 18;
            o1 += 18;
            o2 += 18;
            o3 += 18;
        }
        y[yAt] = VectorMath.sumLanes(a0);
        y[yAt + 1] = VectorMath.sumLanes(a1);
        y[yAt + 2] = VectorMath.sumLanes(a2);
        y[yAt + 3] = VectorMath.sumLanes(a3);
    }

    private static float q4Row(MemorySegment m, long o, int nb, float[] x, int xOff) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, o += 18) {
            int xb = xOff + b * BLOCK;
            FloatVector s = FloatVector.zero(F);
            for (int c = 0; c < BLOCK / 2; c += V) {
                ByteVector q = nibbles(m, o + 2 + c);
                s = lo(q).fma(FloatVector.fromArray(F, x, xb + c), s);
                s = hi(q).fma(FloatVector.fromArray(F, x, xb + BLOCK / 2 + c), s);
            }
            acc = s.fma(FloatVector.broadcast(F, scale(m, o)), acc);
        }
        return VectorMath.sumLanes(acc);
    }

    /**
     * {@code y[t * ldy + r] = W[r, :] . x[t * cols ..]} for tokens {@code [0, tokens)} and rows {@code [from, to)}:
     * each weight block is widened and scaled once per group of up to {@value #TOKEN_GROUP} tokens.
     */
    static void multiToken(QuantMatrix w, float[] x, int tokens, float[] y, int ldy, int from, int to) {
        int cols = w.cols();
        if (!VECTOR) {
            for (int t = 0; t < tokens; t++) {
                for (int r = from; r < to; r++) y[t * ldy + r] = dotScalar(w, r, x, t * cols);
            }
            return;
        }
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        long rowBytes = w.rowBytes();
        boolean q8 = w.type() == QuantType.Q8_0;
        for (int t0 = 0; t0 < tokens; t0 += TOKEN_GROUP) {
            int nt = Math.min(TOKEN_GROUP, tokens - t0);
            if (nt == 1) {
                matvec(w, x, t0 * cols, y, t0 * ldy, from, to);
                continue;
            }
            for (int r = from; r < to; r++) {
                if (q8) q8Tokens(m, r * rowBytes, nb, x, t0 * cols, cols, nt, y, t0 * ldy + r, ldy);
                else q4Tokens(m, r * rowBytes, nb, x, t0 * cols, cols, nt, y, t0 * ldy + r, ldy);
            }
        }
    }

    /** One row against 2..4 tokens; absent tokens reuse token 0's activations and are not stored. */
    private static void q8Tokens(MemorySegment m, long o, int nb, float[] x, int x0, int cols, int nt,
                                 float[] y, int yAt, int ldy) {
        int x1 = x0 + cols, x2 = nt > 2 ? x1 + cols : x0, x3 = nt > 3 ? x1 + 2 * cols : x0;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < nb; b++, o += 34) {
            FloatVector d = FloatVector.broadcast(F, scale(m, o));
            int xb = b * BLOCK;
            for (int c = 0; c < BLOCK; c += V) {
                FloatVector wv = q8(m, o + 2 + c).mul(d);
                a0 = wv.fma(FloatVector.fromArray(F, x, x0 + xb + c), a0);
                a1 = wv.fma(FloatVector.fromArray(F, x, x1 + xb + c), a1);
                a2 = wv.fma(FloatVector.fromArray(F, x, x2 + xb + c), a2);
                a3 = wv.fma(FloatVector.fromArray(F, x, x3 + xb + c), a3);
            }
        }
        store(y, yAt, ldy, nt, a0, a1, a2, a3);
    }

    private static void q4Tokens(MemorySegment m, long o, int nb, float[] x, int x0, int cols, int nt,
                                 float[] y, int yAt, int ldy) {
        int x1 = x0 + cols, x2 = nt > 2 ? x1 + cols : x0, x3 = nt > 3 ? x1 + 2 * cols : x0;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < nb; b++, o += 18) {
            FloatVector d = FloatVector.broadcast(F, scale(m, o));
            int xb = b * BLOCK;
            for (int c = 0; c < BLOCK / 2; c += V) {
                ByteVector q = nibbles(m, o + 2 + c);
                FloatVector wl = lo(q).mul(d);
                FloatVector wh = hi(q).mul(d);
                int l = xb + c, h = xb + BLOCK / 2 + c;
                a0 = wh.fma(FloatVector.fromArray(F, x, x0 + h), wl.fma(FloatVector.fromArray(F, x, x0 + l), a0));
                a1 = wh.fma(FloatVector.fromArray(F, x, x1 + h), wl.fma(FloatVector.fromArray(F, x, x1 + l), a1));
                a2 = wh.fma(FloatVector.fromArray(F, x, x2 + h), wl.fma(FloatVector.fromArray(F, x, x2 + l), a2));
                a3 = wh.fma(FloatVector.fromArray(F, x, x3 + h), wl.fma(FloatVector.fromArray(F, x, x3 + l), a3));
            }
        }
        store(y, yAt, ldy, nt, a0, a1, a2, a3);
    }

    private static void store(float[] y, int at, int ldy, int nt, FloatVector a0, FloatVector a1, FloatVector a2,
                              FloatVector a3) {
        y[at] = VectorMath.sumLanes(a0);
        y[at + ldy] = VectorMath.sumLanes(a1);
        if (nt > 2) y[at + 2 * ldy] = VectorMath.sumLanes(a2);
        if (nt > 3) y[at + 3 * ldy] = VectorMath.sumLanes(a3);
    }

    /**
     * Rows {@code [from, to)} dequantised into {@code dst} as {@code [to - from, cols]} fp32, with the same values as
     * {@link QuantType#dequantize} (each is one fp32 product {@code q * d}).
     */
    static void dequantizeTile(QuantMatrix w, int from, int to, float[] dst) {
        if (!VECTOR) {
            w.dequantizeRows(from, to, dst, 0);
            return;
        }
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        long o = from * (long) w.rowBytes();
        int at = 0;
        boolean q8 = w.type() == QuantType.Q8_0;
        for (int r = from; r < to; r++) {
            for (int b = 0; b < nb; b++, at += BLOCK) {
                float d = scale(m, o);
                if (q8) {
                    for (int c = 0; c < BLOCK; c += V) q8(m, o + 2 + c).mul(d).intoArray(dst, at + c);
                    o += 34;
                } else {
                    for (int c = 0; c < BLOCK / 2; c += V) {
                        ByteVector q = nibbles(m, o + 2 + c);
                        lo(q).mul(d).intoArray(dst, at + c);
                        hi(q).mul(d).intoArray(dst, at + BLOCK / 2 + c);
                    }
                    o += 18;
                }
            }
        }
    }

    /** The plain reference: row r dequantised by {@link QuantType#dequantize} and dotted with x in fp32, in order. */
    static float dotScalar(QuantMatrix w, int r, float[] x, int xOff) {
        float[] row = new float[w.cols()];
        w.dequantizeRows(r, r + 1, row, 0);
        float s = 0f;
        for (int c = 0; c < row.length; c++) s += row[c] * x[xOff + c];
        return s;
    }
}
