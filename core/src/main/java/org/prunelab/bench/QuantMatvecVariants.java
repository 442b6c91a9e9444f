package org.prunelab.bench;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.tensor.VectorMath;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The batch-1 Q8_0 / Q4_0 kernels that lost to the one in {@code org.prunelab.tensor.quant.QuantKernels}, kept so
 * that {@link QuantKernelBench} can repeat the comparison: the same float kernel reading a {@code byte[]} instead of
 * a {@link MemorySegment}, Q8_0 with one 32-byte load per block, Q4_0 in byte lanes, on two or four rows at a time
 * (each x vector loaded once for all of them),
 * and llama.cpp's approach — x quantised to Q8_0 once per
 * call, int8 x int8 products per block (widened to int16, multiplied, widened to int32 and summed), the block's
 * integer sum scaled by {@code d_w * d_x}. Single-threaded, {@code y[r] = W[r, :] . x}; the int8 variants need
 * 16 float lanes (AVX-512) and are skipped elsewhere.
 */
final class QuantMatvecVariants {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int V = F.length();
    private static final VectorSpecies<Byte> B = V >= 16 ? ByteVector.SPECIES_128 : ByteVector.SPECIES_64;
    static final boolean INT8_AVAILABLE = V == 16;
    private static final ValueLayout.OfShort FP16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private QuantMatvecVariants() {}

    private static float fp16(byte[] b, int o) {
        return Float.float16ToFloat((short) ((b[o] & 0xFF) | (b[o + 1] << 8)));
    }

    private static FloatVector widen(ByteVector q) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, 0);
    }

    // ---- (a) on byte[]: the product kernel's loads (Q4_0 in byte lanes), one row at a time, from an array ----

    static void floatArray(QuantType type, byte[] w, int rows, int cols, float[] x, float[] y) {
        if (type == QuantType.Q8_0) q8Array(w, rows, cols, x, y);
        else q4Array(w, rows, cols, x, y);
    }

    private static void q8Array(byte[] w, int rows, int cols, float[] x, float[] y) {
        int nb = cols / 32;
        for (int r = 0; r < rows; r++) {
            int o = r * nb * 34;
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < nb; b++, o += 34) {
                FloatVector s = FloatVector.zero(F);
                for (int c = 0; c < 32; c += V) s = widen(ByteVector.fromArray(B, w, o + 2 + c)).fma(FloatVector.fromArray(F, x, b * 32 + c), s);
                acc = s.fma(FloatVector.broadcast(F, fp16(w, o)), acc);
            }
            y[r] = VectorMath.sumLanes(acc);
        }
    }

    private static void q4Array(byte[] w, int rows, int cols, float[] x, float[] y) {
        int nb = cols / 32;
        for (int r = 0; r < rows; r++) {
            int o = r * nb * 18;
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < nb; b++, o += 18) {
                FloatVector s = FloatVector.zero(F);
                for (int c = 0; c < 16; c += V) {
                    s = nib(ByteVector.fromArray(B, w, o + 2 + c), FloatVector.fromArray(F, x, b * 32 + c),
                            FloatVector.fromArray(F, x, b * 32 + 16 + c), s);
                }
                acc = s.fma(FloatVector.broadcast(F, fp16(w, o)), acc);
            }
            y[r] = VectorMath.sumLanes(acc);
        }
    }

    private static FloatVector nib(ByteVector q, FloatVector xl, FloatVector xh, FloatVector s) {
        FloatVector lo = widen(q.and((byte) 0x0F).sub((byte) 8));
        FloatVector hi = widen(q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8));
        return hi.fma(xh, lo.fma(xl, s));
    }

    // ---- (a) on the segment: 16-byte loads, and two or four rows sharing each x load ----
    // Each variant is straight-line code per block: a vector chosen by a condition inside a loop (a phi of two vectors)
    // can make C2 box it, which costs 10-20x and would measure the boxing rather than the kernel.

    private static ByteVector load(MemorySegment m, long off, VectorSpecies<Byte> s) {
        return ByteVector.fromMemorySegment(s, m, off, LE);
    }

    private static float scale(MemorySegment m, long o) {
        return Float.float16ToFloat(m.get(FP16, o));
    }

    /** Q8_0, one row at a time, a block's 32 quants in one 32-byte load (the product loads two halves of 16). */
    static void q8Load32(QuantMatrix w, float[] x, float[] y) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        for (int r = 0; r < w.rows(); r++) {
            long o = (long) r * w.rowBytes();
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < nb; b++, o += 34) {
                ByteVector q = load(m, o + 2, ByteVector.SPECIES_256);
                FloatVector s = FloatVector.zero(F);
                for (int p = 0; p < 32 / V; p++) s = part(q, p).fma(FloatVector.fromArray(F, x, b * 32 + p * V), s);
                acc = s.fma(FloatVector.broadcast(F, scale(m, o)), acc);
            }
            y[r] = VectorMath.sumLanes(acc);
        }
    }

    /** Q4_0, one row at a time, {@code nibble - 8} computed in byte lanes and widened (the product works in int lanes). */
    static void q4Bytes(QuantMatrix w, float[] x, float[] y) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        for (int r = 0; r < w.rows(); r++) {
            long o = (long) r * w.rowBytes();
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < nb; b++, o += 18) {
                FloatVector s = FloatVector.zero(F);
                for (int c = 0; c < 16; c += V) {
                    s = nib(load(m, o + 2 + c, B), FloatVector.fromArray(F, x, b * 32 + c), FloatVector.fromArray(F, x, b * 32 + 16 + c), s);
                }
                acc = s.fma(FloatVector.broadcast(F, scale(m, o)), acc);
            }
            y[r] = VectorMath.sumLanes(acc);
        }
    }

    /** Q8_0, two rows per pass (32-byte loads); rows must be even. */
    static void q8Rows2(QuantMatrix w, float[] x, float[] y) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        long rb = w.rowBytes();
        for (int r = 0; r < w.rows(); r += 2) {
            long o = r * rb;
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int b = 0; b < nb; b++, o += 34) {
                ByteVector q0 = load(m, o + 2, ByteVector.SPECIES_256), q1 = load(m, o + rb + 2, ByteVector.SPECIES_256);
                FloatVector s0 = FloatVector.zero(F), s1 = s0;
                for (int p = 0; p < 32 / V; p++) {
                    FloatVector xv = FloatVector.fromArray(F, x, b * 32 + p * V);
                    s0 = part(q0, p).fma(xv, s0);
                    s1 = part(q1, p).fma(xv, s1);
                }
                a0 = s0.fma(FloatVector.broadcast(F, scale(m, o)), a0);
                a1 = s1.fma(FloatVector.broadcast(F, scale(m, o + rb)), a1);
            }
            y[r] = VectorMath.sumLanes(a0);
            y[r + 1] = VectorMath.sumLanes(a1);
        }
    }

    /** Q8_0, four rows per pass (32-byte loads); rows must be a multiple of 4. */
    static void q8Rows4(QuantMatrix w, float[] x, float[] y) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        long rb = w.rowBytes();
        for (int r = 0; r < w.rows(); r += 4) {
            long o = r * rb;
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int b = 0; b < nb; b++, o += 34) {
                ByteVector q0 = load(m, o + 2, ByteVector.SPECIES_256), q1 = load(m, o + rb + 2, ByteVector.SPECIES_256);
                ByteVector q2 = load(m, o + 2 * rb + 2, ByteVector.SPECIES_256), q3 = load(m, o + 3 * rb + 2, ByteVector.SPECIES_256);
                FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
                for (int p = 0; p < 32 / V; p++) {
                    FloatVector xv = FloatVector.fromArray(F, x, b * 32 + p * V);
                    s0 = part(q0, p).fma(xv, s0);
                    s1 = part(q1, p).fma(xv, s1);
                    s2 = part(q2, p).fma(xv, s2);
                    s3 = part(q3, p).fma(xv, s3);
                }
                a0 = s0.fma(FloatVector.broadcast(F, scale(m, o)), a0);
                a1 = s1.fma(FloatVector.broadcast(F, scale(m, o + rb)), a1);
                a2 = s2.fma(FloatVector.broadcast(F, scale(m, o + 2 * rb)), a2);
                a3 = s3.fma(FloatVector.broadcast(F, scale(m, o + 3 * rb)), a3);
            }
            y[r] = VectorMath.sumLanes(a0);
            y[r + 1] = VectorMath.sumLanes(a1);
            y[r + 2] = VectorMath.sumLanes(a2);
            y[r + 3] = VectorMath.sumLanes(a3);
        }
    }

    private static FloatVector part(ByteVector q, int p) {
        return (FloatVector) q.convertShape(VectorOperators.B2F, F, p);
    }

    /** Q4_0, two rows per pass; rows must be even. */
    static void q4Rows2(QuantMatrix w, float[] x, float[] y) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        long rb = w.rowBytes();
        for (int r = 0; r < w.rows(); r += 2) {
            long o = r * rb;
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int b = 0; b < nb; b++, o += 18) {
                FloatVector s0 = FloatVector.zero(F), s1 = s0;
                for (int c = 0; c < 16; c += V) {
                    FloatVector xl = FloatVector.fromArray(F, x, b * 32 + c);
                    FloatVector xh = FloatVector.fromArray(F, x, b * 32 + 16 + c);
                    s0 = nib(load(m, o + 2 + c, B), xl, xh, s0);
                    s1 = nib(load(m, o + rb + 2 + c, B), xl, xh, s1);
                }
                a0 = s0.fma(FloatVector.broadcast(F, scale(m, o)), a0);
                a1 = s1.fma(FloatVector.broadcast(F, scale(m, o + rb)), a1);
            }
            y[r] = VectorMath.sumLanes(a0);
            y[r + 1] = VectorMath.sumLanes(a1);
        }
    }

    // ---- (b) llama.cpp's approach: x quantised to Q8_0, integer products per block ----

    /** x quantised to Q8_0 (ggml's quantize_row_q8_0 arithmetic): quants widened to shorts, and each block's scale. */
    record QuantisedX(short[] q, float[] d) {
        static QuantisedX of(float[] x, int cols) {
            byte[] blocks = new byte[cols / 32 * 34];
            QuantType.Q8_0.quantize(x, 0, cols, blocks, 0);
            short[] q = new short[cols];
            float[] d = new float[cols / 32];
            for (int b = 0; b < cols / 32; b++) {
                d[b] = fp16(blocks, b * 34);
                for (int j = 0; j < 32; j++) q[b * 32 + j] = blocks[b * 34 + 2 + j];
            }
            return new QuantisedX(q, d);
        }
    }

    private static final VectorSpecies<Short> S512 = ShortVector.SPECIES_512;
    private static final VectorSpecies<Short> S256 = ShortVector.SPECIES_256;
    private static final VectorSpecies<Integer> I512 = IntVector.SPECIES_512;

    /** Both int8 variants (Q8_0 and Q4_0 weights) on AVX-512 shapes; x is quantised inside, once per call. */
    static void int8(QuantMatrix w, float[] x, float[] y) {
        QuantisedX xq = QuantisedX.of(x, w.cols());
        if (w.type() == QuantType.Q8_0) int8Q8(w, xq, y);
        else int8Q4(w, xq, y);
    }

    private static void int8Q8(QuantMatrix w, QuantisedX xq, float[] y) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        for (int r = 0; r < w.rows(); r++) {
            long o = (long) r * w.rowBytes();
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < nb; b++, o += 34) {
                ShortVector ws = (ShortVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_256, m, o + 2, LE)
                        .convertShape(VectorOperators.B2S, S512, 0);
                ShortVector p = ws.mul(ShortVector.fromArray(S512, xq.q(), b * 32));
                IntVector sum = ((IntVector) p.convertShape(VectorOperators.S2I, I512, 0))
                        .add((IntVector) p.convertShape(VectorOperators.S2I, I512, 1));
                float d = scale(m, o) * xq.d()[b];
                acc = ((FloatVector) sum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, d), acc);
            }
            y[r] = VectorMath.sumLanes(acc);
        }
    }

    private static void int8Q4(QuantMatrix w, QuantisedX xq, float[] y) {
        MemorySegment m = w.blocks();
        int nb = w.blocksPerRow();
        for (int r = 0; r < w.rows(); r++) {
            long o = (long) r * w.rowBytes();
            FloatVector acc = FloatVector.zero(F);
            for (int b = 0; b < nb; b++, o += 18) {
                ByteVector q = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, m, o + 2, LE);
                ShortVector lo = (ShortVector) q.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2S, S256, 0);
                ShortVector hi = (ShortVector) q.lanewise(VectorOperators.LSHR, 4).sub((byte) 8)
                        .convertShape(VectorOperators.B2S, S256, 0);
                ShortVector pl = lo.mul(ShortVector.fromArray(S256, xq.q(), b * 32));
                ShortVector ph = hi.mul(ShortVector.fromArray(S256, xq.q(), b * 32 + 16));
                IntVector sum = ((IntVector) pl.convertShape(VectorOperators.S2I, I512, 0))
                        .add((IntVector) ph.convertShape(VectorOperators.S2I, I512, 0));
                float d = scale(m, o) * xq.d()[b];
                acc = ((FloatVector) sum.convertShape(VectorOperators.I2F, F, 0)).fma(FloatVector.broadcast(F, d), acc);
            }
            y[r] = VectorMath.sumLanes(acc);
        }
    }
}
