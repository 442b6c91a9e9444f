package org.prunelab.tensor.sparse;

import java.util.Arrays;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.VectorMath;
import org.prunelab.tensor.quant.QuantType;

/**
 * Products of a {@link PackedNmQuantMatrix} with fp32 activations, reading the packed bytes directly.
 *
 * <h2>Decode (one token)</h2>
 * Computes on kept values only. Per window of 16 slots (32 dense columns) the 16 quants are widened to floats in
 * registers, and the 16 matching activations are picked out of the window's two x vectors by one two-source
 * permute ({@code IntVector.selectFrom(v1, v2)}, vpermt2d) whose lane indices come from the window's code word:
 * {@code index_j = base_j | ((code >>> shift_j) & mask)}. Each block of 32 slots accumulates its own partial sum,
 * scaled once by the block's fp16 scale ({@code tot += d * sum_j q_j x_j}). Against expanding the quants into
 * dense lanes through the bitmap (as {@link PackedNmMatrix} does) this halves the multiply-adds and widenings;
 * against deriving the permute indices from the bitmap (byte compress of an iota vector) it saves the compress
 * (see results/sparse-quant-bench.md). Slots past the last whole pair of windows (in_features not a multiple
 * of 64) run the scalar loop.
 *
 * <p>The vector path needs 16 float lanes (AVX-512); elsewhere every row runs the scalar loop, which is also the
 * reference the tests compare the vector path with.
 *
 * <h2>Prefill (several tokens)</h2>
 * {@link PackedNmQuantMatrix.Prefill#TOKEN_BLOCKS} (the default below {@value #SLAB_MIN_TOKENS} tokens): each row's
 * kept values are dequantised into a small float buffer with their columns and multiplied into all tokens by
 * {@link TokenBlocks}, as the fp32 packed format does. {@link PackedNmQuantMatrix.Prefill#DEQUANTIZED_SLABS} (the
 * default from there on): slabs of up to {@value #SLAB_FLOATS} floats of W are dequantised to dense fp32 and each
 * multiplied by one multithreaded {@link Gemm#active()} product.
 */
final class NmQuantKernels {
    static final boolean VECTOR = FloatVector.SPECIES_PREFERRED.length() == 16;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Long> L = LongVector.SPECIES_512;
    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    private static final VectorSpecies<Byte> B256 = ByteVector.SPECIES_256;
    /** 2:4: slot j's code at bits [2j, 2j+2) of the window's int; its group starts at column 4 * (j / 2). */
    private static final IntVector SHIFT_24 = lanes(j -> 2 * j);
    private static final IntVector BASE_24 = lanes(j -> 4 * (j >> 1));
    /** 4:8: the 48-bit window split into two ints per long lane (even slots low, odd high); group at 8 * (j / 4). */
    private static final IntVector SHIFT_48 = lanes(j -> 3 * (j >> 1));
    private static final IntVector BASE_48 = lanes(j -> 8 * (j >> 2));
    /**
     * From this many tokens on, {@link PackedNmQuantMatrix.Prefill#AUTO} dequantises slabs for BLAS: at 64 tokens
     * token blocks were ahead in 5 of 6 cells, at 128 even, at 512 slabs 1.3-1.8x ahead (results/sparse-quant-bench.md).
     */
    static final int SLAB_MIN_TOKENS = 256;
    /** Floats of W dequantised at a time on the slab path (4 MiB): a whole SmolLM2 block linear. */
    static final int SLAB_FLOATS = 1 << 20;

    private NmQuantKernels() {}

    private static IntVector lanes(java.util.function.IntUnaryOperator f) {
        int[] v = new int[16];
        for (int j = 0; j < 16; j++) v[j] = f.applyAsInt(j);
        return IntVector.fromArray(I, v, 0);
    }

    static void multiply(PackedNmQuantMatrix w, float[] x, int tokens, float[] y, PackedNmQuantMatrix.Prefill prefill) {
        int rows = w.rows();
        long work = (long) rows * w.slotsPerRow() * tokens;
        if (tokens == 1) {
            SparseLoops.forRows(rows, work, (from, to) -> {
                for (int r = from; r < to; r++) y[r] = VECTOR ? rowDot(w, r, x) : rowDotScalar(w, r, x, 0);
            });
        } else if (prefill == PackedNmQuantMatrix.Prefill.TOKEN_BLOCKS
                || prefill == PackedNmQuantMatrix.Prefill.AUTO && tokens < SLAB_MIN_TOKENS) {
            tokenBlocks(w, x, tokens, y, work);
        } else {
            dequantizedSlabs(w, x, tokens, y);
        }
    }

    /**
     * The vector kernel of one (value type, pattern), chosen once per matrix. Dispatching through this enum rather
     * than an if/else in {@link #rowDot} matters: C2 would inline all four kernels into one method, run past its
     * inlining node budget and leave the last ones' Vector API calls un-inlined (boxed vectors, measured 4x slower
     * for 4:8 in a JVM that had run all four); a call site that sees several constants is not inlined, so each
     * kernel compiles on its own budget.
     */
    enum RowKernel {
        Q8_24 { float dot(PackedNmQuantMatrix w, int r, float[] x, int pairs) { return q8x24(w, r, x, pairs); } },
        Q4_24 { float dot(PackedNmQuantMatrix w, int r, float[] x, int pairs) { return q4x24(w, r, x, pairs); } },
        Q8_48 { float dot(PackedNmQuantMatrix w, int r, float[] x, int pairs) { return q8x48(w, r, x, pairs); } },
        Q4_48 { float dot(PackedNmQuantMatrix w, int r, float[] x, int pairs) { return q4x48(w, r, x, pairs); } };

        /** Row r over its first {@code pairs} pairs of windows (32 slots, 64 columns each). */
        abstract float dot(PackedNmQuantMatrix w, int r, float[] x, int pairs);

        static RowKernel of(QuantType type, int m) {
            boolean q8 = type == QuantType.Q8_0;
            return m == 4 ? (q8 ? Q8_24 : Q4_24) : (q8 ? Q8_48 : Q4_48);
        }
    }

    /** Row r of W times x: the vector kernel on whole pairs of windows, the scalar loop on the rest. */
    static float rowDot(PackedNmQuantMatrix w, int r, float[] x) {
        int pairs = w.cols() / 64;
        float sum = w.kernel.dot(w, r, x, pairs);
        return pairs * 32 == w.slotsPerRow() ? sum : sum + rowDotScalar(w, r, x, pairs * 32);
    }

    private static float q8x24(PackedNmQuantMatrix w, int r, float[] x, int pairs) {
        byte[] quants = w.quants;
        short[] scales = w.scales;
        int[] codes = w.codes;
        int qo = r * w.blocksPerRow() * 32;
        int so = r * w.blocksPerRow();
        int co = r * w.codeIntsPerRow();
        FloatVector tot = FloatVector.zero(F);
        for (int b = 0; b < pairs; b++, qo += 32, co += 2) {
            ByteVector q = ByteVector.fromArray(B256, quants, qo);
            FloatVector acc = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(kept24(codes[co], x, b << 6));
            acc = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 1)).fma(kept24(codes[co + 1], x, (b << 6) + 32), acc);
            tot = acc.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[so + b])), tot);
        }
        return VectorMath.sumLanes(tot);
    }

    private static float q4x24(PackedNmQuantMatrix w, int r, float[] x, int pairs) {
        byte[] quants = w.quants;
        short[] scales = w.scales;
        int[] codes = w.codes;
        int qo = r * w.blocksPerRow() * 16;
        int so = r * w.blocksPerRow();
        int co = r * w.codeIntsPerRow();
        FloatVector tot = FloatVector.zero(F);
        for (int b = 0; b < pairs; b++, qo += 16, co += 2) {
            IntVector q = (IntVector) ByteVector.fromArray(B128, quants, qo).convertShape(VectorOperators.B2I, I, 0);
            FloatVector lo = (FloatVector) q.and(15).sub(8).convertShape(VectorOperators.I2F, F, 0);
            FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(15).sub(8).convertShape(VectorOperators.I2F, F, 0);
            FloatVector acc = lo.mul(kept24(codes[co], x, b << 6)).add(hi.mul(kept24(codes[co + 1], x, (b << 6) + 32)));
            tot = acc.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[so + b])), tot);
        }
        return VectorMath.sumLanes(tot);
    }

    private static float q8x48(PackedNmQuantMatrix w, int r, float[] x, int pairs) {
        byte[] quants = w.quants;
        short[] scales = w.scales;
        int[] codes = w.codes;
        int qo = r * w.blocksPerRow() * 32;
        int so = r * w.blocksPerRow();
        int co = r * w.codeIntsPerRow();
        FloatVector tot = FloatVector.zero(F);
        for (int b = 0; b < pairs; b++, qo += 32, co += 3) {
            long mid = codes[co + 1] & 0xFFFFFFFFL;
            long w0 = (codes[co] & 0xFFFFFFFFL) | (mid & 0xFFFF) << 32;
            long w1 = mid >>> 16 | (codes[co + 2] & 0xFFFFFFFFL) << 16;
            ByteVector q = ByteVector.fromArray(B256, quants, qo);
            FloatVector acc = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(kept48(w0, x, b << 6));
            acc = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 1)).fma(kept48(w1, x, (b << 6) + 32), acc);
            tot = acc.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[so + b])), tot);
        }
        return VectorMath.sumLanes(tot);
    }

    private static float q4x48(PackedNmQuantMatrix w, int r, float[] x, int pairs) {
        byte[] quants = w.quants;
        short[] scales = w.scales;
        int[] codes = w.codes;
        int qo = r * w.blocksPerRow() * 16;
        int so = r * w.blocksPerRow();
        int co = r * w.codeIntsPerRow();
        FloatVector tot = FloatVector.zero(F);
        for (int b = 0; b < pairs; b++, qo += 16, co += 3) {
            long mid = codes[co + 1] & 0xFFFFFFFFL;
            long w0 = (codes[co] & 0xFFFFFFFFL) | (mid & 0xFFFF) << 32;
            long w1 = mid >>> 16 | (codes[co + 2] & 0xFFFFFFFFL) << 16;
            IntVector q = (IntVector) ByteVector.fromArray(B128, quants, qo).convertShape(VectorOperators.B2I, I, 0);
            FloatVector lo = (FloatVector) q.and(15).sub(8).convertShape(VectorOperators.I2F, F, 0);
            FloatVector hi = (FloatVector) q.lanewise(VectorOperators.ASHR, 4).and(15).sub(8).convertShape(VectorOperators.I2F, F, 0);
            FloatVector acc = lo.mul(kept48(w0, x, b << 6)).add(hi.mul(kept48(w1, x, (b << 6) + 32)));
            tot = acc.fma(FloatVector.broadcast(F, Float.float16ToFloat(scales[so + b])), tot);
        }
        return VectorMath.sumLanes(tot);
    }

    /** The 16 activations of a 2:4 window's slots: x[c + base_j + code_j], picked from x[c, c + 32). */
    private static FloatVector kept24(int code, float[] x, int c) {
        IntVector index = IntVector.broadcast(I, code).lanewise(VectorOperators.LSHR, SHIFT_24).and(3).or(BASE_24);
        return index.selectFrom(FloatVector.fromArray(F, x, c).reinterpretAsInts(),
                FloatVector.fromArray(F, x, c + 16).reinterpretAsInts()).reinterpretAsFloats();
    }

    /** As {@link #kept24} for a 4:8 window's 48 code bits. */
    private static FloatVector kept48(long window, float[] x, int c) {
        long halves = (window & 0xFFFFFF) | (window >>> 24) << 32;
        IntVector index = LongVector.broadcast(L, halves).reinterpretAsInts()
                .lanewise(VectorOperators.LSHR, SHIFT_48).and(7).or(BASE_48);
        return index.selectFrom(FloatVector.fromArray(F, x, c).reinterpretAsInts(),
                FloatVector.fromArray(F, x, c + 16).reinterpretAsInts()).reinterpretAsFloats();
    }

    /**
     * Slots {@code [from, slotsPerRow)} of row r times x, one block partial sum at a time scaled by the block's
     * scale: the slots the vector kernel leaves (in_features not a multiple of 64), and every row where there is no
     * 16-lane vector unit. Reads the packed arrays directly (about a nanosecond per slot).
     */
    static float rowDotScalar(PackedNmQuantMatrix w, int r, float[] x, int from) {
        int slots = w.slotsPerRow();
        int m = w.m();
        int groupShift = m == 4 ? 1 : 2; // slot s lies in group s / n, n = m / 2
        boolean q8 = w.type() == QuantType.Q8_0;
        int qo = r * w.blocksPerRow() * w.quantBytesPerBlock();
        int co = r * w.codeIntsPerRow();
        float sum = 0f;
        long word = 0;
        int wordWindow = -1;
        for (int b = from / PackedNmQuantMatrix.BLOCK; b * PackedNmQuantMatrix.BLOCK < slots; b++) {
            float part = 0f;
            int end = Math.min(slots, (b + 1) * PackedNmQuantMatrix.BLOCK);
            for (int s = Math.max(from, b * PackedNmQuantMatrix.BLOCK); s < end; s++) {
                int j = s & 15;
                if (s >> 4 != wordWindow) {
                    wordWindow = s >> 4;
                    word = m == 4 ? w.codes[co + wordWindow] : w.window48(r, wordWindow);
                }
                int code = m == 4 ? (int) (word >>> (2 * j)) & 3 : (int) (word >>> ((j & 1) * 24 + 3 * (j >> 1))) & 7;
                int q;
                if (q8) {
                    q = w.quants[qo + s];
                } else {
                    int k = s & 31;
                    int packed = w.quants[qo + b * 16 + (k & 15)] & 0xFF;
                    q = (k < 16 ? packed & 0x0F : packed >>> 4) - 8;
                }
                part += q * x[((s >> groupShift) * m) + code];
            }
            sum += part * w.scale(r, b);
        }
        return sum;
    }

    private static void tokenBlocks(PackedNmQuantMatrix w, float[] x, int tokens, float[] y, long work) {
        int rows = w.rows();
        int slots = w.slotsPerRow();
        float[] xt = TokenBlocks.transpose(x, tokens, w.cols());
        int[] strides = TokenBlocks.outputStrides(rows);
        SparseLoops.forRows(rows, work, (from, to) -> {
            float[] lanes = new float[TokenBlocks.L];
            int[] columns = new int[slots];
            float[] values = new float[slots];
            for (int r = from; r < to; r++) {
                decodeRow(w, r, columns, values);
                TokenBlocks.row(values, 0, columns, 0, slots, xt, tokens, y, rows, r, strides, lanes);
            }
        });
    }

    /**
     * Slabs of up to {@value #SLAB_FLOATS} floats of W dequantised to dense fp32 (rows split over the threads), each
     * multiplied by one multithreaded {@link Gemm#active()} product: a whole SmolLM2 block linear is one slab. The
     * same scheme as {@code QuantLinear}'s prefill, which measured one large GEMM faster than per-worker tiles.
     */
    private static void dequantizedSlabs(PackedNmQuantMatrix w, float[] x, int tokens, float[] y) {
        int rows = w.rows();
        int cols = w.cols();
        int slots = w.slotsPerRow();
        int slabRows = Math.max(1, Math.min(rows, SLAB_FLOATS / Math.max(1, cols)));
        float[] slab = new float[slabRows * cols];
        Gemm gemm = Gemm.active();
        for (int from = 0; from < rows; from += slabRows) {
            int count = Math.min(slabRows, rows - from);
            int base = from;
            SparseLoops.forRows(count, (long) count * cols, (r0, r1) -> {
                int[] columns = new int[slots];
                float[] values = new float[slots];
                for (int i = r0; i < r1; i++) {
                    Arrays.fill(slab, i * cols, (i + 1) * cols, 0f);
                    decodeRow(w, base + i, columns, values);
                    for (int s = 0; s < slots; s++) slab[i * cols + columns[s]] = values[s];
                }
            });
            gemm.sgemm(false, true, tokens, count, cols, 1f, x, 0, cols, slab, 0, cols, 0f, y, from, rows);
        }
    }

    /** Columns and dequantised values (quant times block scale, exact) of row r's slots. */
    static void decodeRow(PackedNmQuantMatrix w, int r, int[] columns, float[] values) {
        int slots = w.slotsPerRow();
        int m = w.m();
        int groupShift = m == 4 ? 1 : 2;
        boolean q8 = w.type() == QuantType.Q8_0;
        int qo = r * w.blocksPerRow() * w.quantBytesPerBlock();
        int co = r * w.codeIntsPerRow();
        long word = 0;
        float scale = 0f;
        for (int s = 0; s < slots; s++) {
            int j = s & 15;
            if (j == 0) word = m == 4 ? w.codes[co + (s >> 4)] : w.window48(r, s >> 4);
            if ((s & 31) == 0) scale = w.scale(r, s >> 5);
            int code = m == 4 ? (int) (word >>> (2 * j)) & 3 : (int) (word >>> ((j & 1) * 24 + 3 * (j >> 1))) & 7;
            int q;
            if (q8) {
                q = w.quants[qo + s];
            } else {
                int k = s & 31;
                int packed = w.quants[qo + (s >> 5) * 16 + (k & 15)] & 0xFF;
                q = (k < 16 ? packed & 0x0F : packed >>> 4) - 8;
            }
            columns[s] = ((s >> groupShift) * m) + code;
            values[s] = q * scale;
        }
    }
}
