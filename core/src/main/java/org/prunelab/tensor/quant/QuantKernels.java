package org.prunelab.tensor.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.tensor.VectorMath;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Products of a {@link QuantMatrix} with fp32 activations on the JDK Vector API, reading the blocks where they lie (native
 * memory or a mapped GGUF file) and widening each block's quants to floats in registers: {@code y[t, r] = sum_c W[r, c]
 * x[t, c]} over rows {@code [from, to)}, single-threaded (callers split rows over threads).
 *
 * <p>Per block the 32 quants are widened to fp32 and multiplied into a partial sum with the activations; the partial
 * sum is scaled by the block's d once ({@code acc += d * sum_j q_j x_j}). The alternatives, measured by
 * {@code org.prunelab.bench.QuantKernelBench choice} (CPU time of one thread, SmolLM2 shapes, AVX-512), all lost or
 * tied: llama.cpp's approach — x quantised to Q8_0 once per call and int8 x int8 products, which the Vector API can
 * only express as int8 -> int16 products widened again to int32 (no {@code vpdpbusd}) — was 3-25% slower; the same
 * kernel on a {@code byte[]} instead of a segment was as fast (so one segment path serves heap-built and mapped
 * matrices); two rows sharing each x load were no faster and four rows several times slower.
 *
 * <p>Kernels avoid vector-valued conditionals ({@code v = flag ? a : b} inside a loop): C2 sometimes boxes such a vector,
 * which made a kernel 10-20x slower in the measurements.
 *
 * <p>The vector path needs a float vector of 4, 8 or 16 lanes (NEON/SSE, AVX2, AVX-512); other shapes run
 * {@link #dotScalar}.
 */
final class QuantKernels {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int V = F.length();
    /**
     * Quants are loaded 16 bytes at a time (half a Q8_0 block, a Q4_0 block's nibbles) and widened {@code V} lanes at
     * a time ({@code convertShape} part p). One 32-byte load per Q8_0 block was 12-20% slower.
     */
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Float vectors per 16 values. */
    private static final int PARTS16 = 16 / V;
    static final boolean VECTOR = V >= 4 && 16 % V == 0;
    private static final ValueLayout.OfShort FP16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int BLOCK = QuantType.BLOCK_SIZE;
    /** Tokens one pass of {@link #multiToken} serves per weight read. */
    static final int TOKEN_GROUP = 4;

    private QuantKernels() {}

    /** y[yOff + r] = W[r, :] . x[xOff ..] for r in [from, to). */
    static void matvec(QuantMatrix w, float[] x, int xOff, float[] y, int yOff, int from, int to) {
        matvec(w, x, xOff, y, yOff, from, to, Q4_TABLE);
    }

    /**
     * As above, with Q4_0's kernel chosen: {@link #q4RowTable} when {@code q4Table} and the vector shape allows it,
     * else {@link #q4Row} (tests run both on one machine).
     */
    static void matvec(QuantMatrix w, float[] x, int xOff, float[] y, int yOff, int from, int to, boolean q4Table) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        long rowBytes = w.rowBytes();
        if (!VECTOR) {
            for (int r = from; r < to; r++) y[yOff + r] = dotScalar(w, r, x, xOff);
        } else if (w.type() == QuantType.Q8_0) {
            for (int r = from; r < to; r++) y[yOff + r] = q8Row(m, r * rowBytes, nb, x, xOff);
        } else {
            if (q4Table && Q4_VALUES != null) {
                for (int r = from; r < to; r++) y[yOff + r] = q4RowTable(m, r * rowBytes, nb, x, xOff);
            } else {
                float[] xNeg8 = q4Offsets(x, xOff, nb);
                for (int r = from; r < to; r++) y[yOff + r] = q4Row(m, r * rowBytes, nb, x, xOff, xNeg8);
            }
        }
    }

    private static float scale(MemorySegment m, long blockOff) {
        return Float.float16ToFloat(m.get(FP16, blockOff));
    }

    /** Quants {@code [16 h, 16 h + 16)} of the Q8_0 block at {@code o}. */
    private static ByteVector q8(MemorySegment m, long o, int h) {
        return ByteVector.fromMemorySegment(B16, m, o + 2 + 16 * h, LE);
    }

    /** Lanes {@code [p V, p V + V)} of a byte vector, widened to floats. */
    private static FloatVector widen(ByteVector q, int p) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
    }

    /**
     * One row at a time. Measured against (QuantKernelBench {@code choice}, CPU time): one 32-byte load per block
     * (12-20% slower), two rows sharing each x load (Q8_0 as fast or 2x slower on the LM head, Q4_0 up to 7% faster),
     * four rows (3-7x slower), the same kernel on a byte[] (as fast), and llama.cpp's int8 x int8 products (slower).
     */
    private static float q8Row(MemorySegment m, long o, int nb, float[] x, int xOff) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, o += 34) {
            int xb = xOff + b * BLOCK;
            ByteVector q0 = q8(m, o, 0);
            ByteVector q1 = q8(m, o, 1);
            FloatVector s = FloatVector.zero(F);
            for (int p = 0; p < PARTS16; p++) {
                s = widen(q0, p).fma(FloatVector.fromArray(F, x, xb + p * V), s);
                s = widen(q1, p).fma(FloatVector.fromArray(F, x, xb + 16 + p * V), s);
            }
            acc = s.fma(FloatVector.broadcast(F, scale(m, o)), acc);
        }
        return VectorMath.sumLanes(acc);
    }

    /**
     * The Q4_0 block at {@code o}: byte i of its 16 holds value i (low nibble) and value i + 16 (high nibble), each
     * {@code nibble - 8}; {@code low} / {@code high} return those 16 values as signed bytes. (Two methods, not one with
     * a flag: a vector chosen by a condition can make C2 box it when the condition is not folded away.)
     */
    private static ByteVector low(MemorySegment m, long o) {
        return ByteVector.fromMemorySegment(B16, m, o + 2, LE).and((byte) 0x0F).sub((byte) 8);
    }

    private static ByteVector high(MemorySegment m, long o) {
        return ByteVector.fromMemorySegment(B16, m, o + 2, LE).lanewise(VectorOperators.LSHR, 4).sub((byte) 8);
    }

    /**
     * Q4_0 one row at a time, in int lanes: the 16 bytes widened to ints once, each nibble cut out with an int shift and
     * mask (x86 has no byte shift) and converted to float; the {@code - 8} is folded into the start value of the
     * block's partial sum, {@code -8 (x_j + x_{j+16})} lane by lane ({@code xNeg8}, made once per call). 15% faster
     * than widening {@code nibble - 8} bytes (QuantKernelBench, [1536, 576]).
     */
    private static float q4Row(MemorySegment m, long o, int nb, float[] x, int xOff, float[] xNeg8) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, o += 18) {
            int xb = xOff + b * BLOCK;
            ByteVector q = ByteVector.fromMemorySegment(B16, m, o + 2, LE);
            FloatVector s = FloatVector.fromArray(F, xNeg8, b * 16);
            for (int p = 1; p < PARTS16; p++) s = s.add(FloatVector.fromArray(F, xNeg8, b * 16 + p * V));
            for (int p = 0; p < PARTS16; p++) {
                IntVector qi = (IntVector) q.convertShape(VectorOperators.B2I, I, p);
                FloatVector lo = (FloatVector) qi.and(0x0F).convert(VectorOperators.I2F, 0);
                FloatVector hi = (FloatVector) qi.lanewise(VectorOperators.LSHR, 4).and(0x0F).convert(VectorOperators.I2F, 0);
                s = lo.fma(FloatVector.fromArray(F, x, xb + p * V), s);
                s = hi.fma(FloatVector.fromArray(F, x, xb + 16 + p * V), s);
            }
            acc = s.fma(FloatVector.broadcast(F, scale(m, o)), acc);
        }
        return VectorMath.sumLanes(acc);
    }

    /**
     * Whether {@link #q4RowTable} serves Q4_0 batch-1 products: 16 float lanes (AVX-512), where one int vector holds all
     * 16 nibble values. System property {@code prunelab.q4Table} (default true) turns it off for comparisons.
     */
    static final boolean Q4_TABLE = V == 16 && Boolean.parseBoolean(System.getProperty("prunelab.q4Table", "true"));
    /** The 16 values a Q4_0 nibble stands for, {@code nibble - 8}, as float bits in int lanes; null without 16 lanes. */
    private static final IntVector Q4_VALUES = V == 16 ? IntVector.fromArray(I, q4ValueBits(), 0) : null;

    private static int[] q4ValueBits() {
        int[] bits = new int[16];
        for (int j = 0; j < 16; j++) bits[j] = Float.floatToRawIntBits(j - 8);
        return bits;
    }

    /**
     * Q4_0 one row at a time on 16 float lanes: the block's 16 bytes widened to ints once; each int indexes the table of
     * the 16 values {@code nibble - 8} ({@link IntVector#selectFrom}, one lane permute; the index wraps to its low 4
     * bits, so the low nibble needs no mask and the high nibble only a shift). Against {@link #q4Row} this drops two
     * masks, two int-to-float conversions and the per-call offsets.
     */
    private static float q4RowTable(MemorySegment m, long o, int nb, float[] x, int xOff) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < nb; b++, o += 18) {
            int xb = xOff + b * BLOCK;
            IntVector qi = (IntVector) ByteVector.fromMemorySegment(B16, m, o + 2, LE).convertShape(VectorOperators.B2I, I, 0);
            FloatVector lo = qi.selectFrom(Q4_VALUES).reinterpretAsFloats();
            FloatVector hi = qi.lanewise(VectorOperators.LSHR, 4).selectFrom(Q4_VALUES).reinterpretAsFloats();
            FloatVector s = lo.mul(FloatVector.fromArray(F, x, xb));
            s = hi.fma(FloatVector.fromArray(F, x, xb + 16), s);
            acc = s.fma(FloatVector.broadcast(F, scale(m, o)), acc);
        }
        return VectorMath.sumLanes(acc);
    }

    /** {@code -8 (x[32 b + j] + x[32 b + 16 + j])} for blocks b and j in [0, 16): Q4_0's offset, once per x. */
    private static float[] q4Offsets(float[] x, int xOff, int nb) {
        float[] out = new float[nb * 16];
        for (int b = 0; b < nb; b++) {
            for (int j = 0; j < 16; j++) out[b * 16 + j] = -8f * (x[xOff + b * BLOCK + j] + x[xOff + b * BLOCK + 16 + j]);
        }
        return out;
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
            ByteVector q0 = q8(m, o, 0);
            ByteVector q1 = q8(m, o, 1);
            for (int p = 0; p < PARTS16; p++) {
                FloatVector wl = widen(q0, p).mul(d);
                FloatVector wh = widen(q1, p).mul(d);
                int l = b * BLOCK + p * V, h = l + 16;
                a0 = wh.fma(FloatVector.fromArray(F, x, x0 + h), wl.fma(FloatVector.fromArray(F, x, x0 + l), a0));
                a1 = wh.fma(FloatVector.fromArray(F, x, x1 + h), wl.fma(FloatVector.fromArray(F, x, x1 + l), a1));
                a2 = wh.fma(FloatVector.fromArray(F, x, x2 + h), wl.fma(FloatVector.fromArray(F, x, x2 + l), a2));
                a3 = wh.fma(FloatVector.fromArray(F, x, x3 + h), wl.fma(FloatVector.fromArray(F, x, x3 + l), a3));
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
            ByteVector lo = low(m, o);
            ByteVector hi = high(m, o);
            for (int p = 0; p < PARTS16; p++) {
                FloatVector wl = widen(lo, p).mul(d);
                FloatVector wh = widen(hi, p).mul(d);
                int l = b * BLOCK + p * V, h = l + 16;
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
        dequantizeTile(w, from, to, dst, 0);
    }

    /** Rows {@code [from, to)} of {@code w} as fp32 into {@code dst} from {@code dstOff}, row-major. */
    static void dequantizeTile(QuantMatrix w, int from, int to, float[] dst, int dstOff) {
        if (!VECTOR) {
            w.dequantizeRows(from, to, dst, dstOff);
            return;
        }
        MemorySegment m = w.blocks();
        int blocks = (to - from) * w.blocksPerRow();
        long o = from * (long) w.rowBytes();
        boolean q8 = w.type() == QuantType.Q8_0;
        for (int b = 0, at = dstOff; b < blocks; b++, at += BLOCK) {
            FloatVector d = FloatVector.broadcast(F, scale(m, o));
            if (q8) {
                ByteVector q0 = q8(m, o, 0);
                ByteVector q1 = q8(m, o, 1);
                for (int p = 0; p < PARTS16; p++) {
                    widen(q0, p).mul(d).intoArray(dst, at + p * V);
                    widen(q1, p).mul(d).intoArray(dst, at + 16 + p * V);
                }
                o += 34;
            } else {
                ByteVector lo = low(m, o);
                ByteVector hi = high(m, o);
                for (int p = 0; p < PARTS16; p++) {
                    widen(lo, p).mul(d).intoArray(dst, at + p * V);
                    widen(hi, p).mul(d).intoArray(dst, at + 16 + p * V);
                }
                o += 18;
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
