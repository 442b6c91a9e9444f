package org.prunelab.tensor.quant;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.Gemm;
import org.prunelab.tensor.Linear;
import org.prunelab.tensor.Parallel;

/**
 * A linear layer {@code y = x W^T (+ b)} whose weight {@code [out_features, in_features]} is a {@link QuantMatrix}
 * in ggml's Q8_0 or Q4_0 block layout (native memory or a mapped GGUF file); the optional bias stays fp32, as in GGUF
 * files.
 * The weight is never expanded to a full fp32 copy:
 * <ul>
 *   <li>one token (decode): {@link QuantKernels#matvec}, blocks widened in registers and FMA'd with x;</li>
 *   <li>2 or 3 tokens: the same, each weight block widened once for all of them;</li>
 *   <li>{@value #TILE_MIN_TOKENS} tokens and more (prefill): tiles of {@value #TILE_ROWS} rows are dequantised into a
 *       small fp32 buffer and multiplied by {@link Gemm#active()} (BLAS where present) on each worker.</li>
 * </ul>
 * Where the crossover lies (QuantKernelBench {@code prefill}, CPU time of one thread, OpenBLAS, SmolLM2's [576, 576],
 * [1536, 576] and [576, 1536], a shared 2-core AMD EPYC at load average 10-12): direct / tiled time was 0.61-1.36 at
 * 2-3 tokens (below 1 for Q8_0, mostly above for Q4_0), 0.80-1.47 at 4, 0.90-1.51 at 5, 1.10-1.97 at 8 and
 * 1.76-3.07 at 512 tokens; only Q8_0 [576, 1536] stayed faster direct up to about 17 tokens.
 *
 * <p>Rows are split over {@link Parallel}'s threads. Results match the plain reference (dequantise, then dot in
 * double) to float rounding. Each output is computed by one thread in a fixed order, so results do not depend on the
 * thread count (for prefill, given the GEMM backend).
 */
public final class QuantLinear implements Linear.RowSlices {
    /** Rows of W dequantised at a time for the GEMM path: 64 x 1536 floats = 384 KiB stays in L2. */
    static final int TILE_ROWS = 64;
    /** Floats of the dequantised slab {@link #slabs} multiplies at once (4 MiB). */
    static final int SLAB_FLOATS = 1 << 20;
    /** From this many tokens on, one multithreaded GEMM per dequantised slab beats per-worker tiles. */
    static final int SLAB_MIN_TOKENS = 64;
    /** From this many tokens on, dequantise-then-GEMM beats the direct kernel (see the class comment). */
    static final int TILE_MIN_TOKENS = 4;
    /** Multiply-adds per thread below which a product is not split (a fork/join round trip is a few microseconds). */
    private static final long MIN_WORK_PER_THREAD = 1L << 16;

    private final QuantMatrix weight;
    private final float[] bias;
    private volatile long nonZeroWeights = -1;

    /**
     * @param weight {@code [outFeatures, inFeatures]}, Hugging Face layout
     * @param bias   {@code [outFeatures]} (held, not copied), or null for none
     * @throws PrunelabException.InvalidArgument if the bias length is not outFeatures
     */
    public QuantLinear(QuantMatrix weight, float[] bias) {
        if (bias != null && bias.length != weight.rows()) {
            throw new PrunelabException.InvalidArgument("bias has " + bias.length + " entries but the " + weight.type()
                    + " weight has " + weight.rows() + " output rows");
        }
        this.weight = weight;
        this.bias = bias;
    }

    /** A bias-free layer over {@code weight}. */
    public static QuantLinear of(QuantMatrix weight) {
        return new QuantLinear(weight, null);
    }

    /**
     * Round-to-nearest quantisation of an fp32 weight {@code [out, in]} (ggml's {@code quantize_row_*_ref}, see
     * {@link QuantMatrix#quantize}); the bias is kept as fp32.
     *
     * @throws PrunelabException.InvalidArgument if in_features is not a multiple of 32 or the bias length is wrong
     */
    public static QuantLinear quantize(QuantType type, FloatMatrix weight, float[] bias) {
        return new QuantLinear(QuantMatrix.quantize(type, weight), bias);
    }

    /**
     * A layer over raw block bytes in GGUF's layout (owned, not copied).
     *
     * @throws PrunelabException.InvalidArgument if the shape or the byte count is wrong (see {@link QuantMatrix#of})
     */
    public static QuantLinear ofBlocks(QuantType type, int outFeatures, int inFeatures, byte[] blocks, float[] bias) {
        return new QuantLinear(QuantMatrix.of(type, outFeatures, inFeatures, blocks), bias);
    }

    /** The quantised weight {@code [outFeatures, inFeatures]}. */
    public QuantMatrix weight() { return weight; }

    /** The bias {@code [outFeatures]} (not a copy), or null. */
    public float[] bias() { return bias; }

    /** The block format of the weight. */
    public QuantType type() { return weight.type(); }

    @Override
    public int inFeatures() { return weight.cols(); }

    @Override
    public int outFeatures() { return weight.rows(); }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if tokens &lt; 1 or a buffer is shorter than {@code [tokens, in]} / {@code [tokens, out]}
     */
    @Override
    public void forward(float[] x, int tokens, float[] y) {
        forward(x, tokens, y, Path.AUTO);
    }

    /** Which kernel {@link #forward(float[], int, float[], Path)} runs; {@code AUTO} is what {@link #forward} does. */
    public enum Path {
        /**
         * DIRECT below {@value QuantLinear#TILE_MIN_TOKENS} tokens, TILED below {@value QuantLinear#SLAB_MIN_TOKENS},
         * SLABS from there on.
         */
        AUTO,
        /** Blocks widened in registers; one weight read per token group of four. */
        DIRECT,
        /** Row tiles dequantised to fp32 per worker, each multiplied by a single-threaded GEMM. */
        TILED,
        /** Slabs of up to {@value QuantLinear#SLAB_FLOATS} floats dequantised, each one multithreaded GEMM. */
        SLABS
    }

    /**
     * {@link #forward(float[], int, float[])} through a chosen kernel (for benchmarks and tests; every path gives
     * the same result up to float rounding).
     *
     * @throws IllegalArgumentException if tokens &lt; 1 or a buffer is too short
     */
    public void forward(float[] x, int tokens, float[] y, Path path) {
        int in = weight.cols();
        int out = weight.rows();
        if (tokens < 1) throw new IllegalArgumentException(weight.type() + " forward: tokens must be at least 1, got " + tokens);
        if ((long) tokens * in > x.length || (long) tokens * out > y.length) {
            throw new IllegalArgumentException(weight.type() + " forward: x has " + x.length + " floats and y " + y.length
                    + ", but [" + tokens + ", " + in + "] in and [" + tokens + ", " + out + "] out are needed");
        }
        if (out == 0) return;
        if (in == 0) {
            java.util.Arrays.fill(y, 0, tokens * out, 0f);
        } else if (path == Path.SLABS || path == Path.AUTO && tokens >= SLAB_MIN_TOKENS) {
            slabs(x, tokens, y);
        } else if (path == Path.TILED || path == Path.AUTO && tokens >= TILE_MIN_TOKENS) {
            tiled(x, tokens, y);
        } else {
            int minRows = (int) Math.max(4, MIN_WORK_PER_THREAD / ((long) in * tokens));
            if (tokens == 1) Parallel.forRange(out, minRows, (from, to) -> QuantKernels.matvec(weight, x, 0, y, 0, from, to));
            else Parallel.forRange(out, minRows, (from, to) -> QuantKernels.multiToken(weight, x, tokens, y, out, from, to));
        }
        if (bias != null) {
            for (int t = 0; t < tokens; t++) {
                for (int o = 0; o < out; o++) y[t * out + o] += bias[o];
            }
        }
    }

    @Override
    public void forwardRows(float[] x, float[] y, int from, int to) {
        if (weight.cols() == 0) {
            java.util.Arrays.fill(y, from, to, 0f);
        } else {
            QuantKernels.matvec(weight, x, 0, y, 0, from, to);
        }
        if (bias != null) for (int r = from; r < to; r++) y[r] += bias[r];
    }

    /**
     * Prefill with many tokens: the weight dequantised a slab of up to {@value #SLAB_FLOATS} floats at a time (all of a
     * SmolLM2 block linear at once; the LM head in slabs), rows split over the threads, then one multithreaded GEMM per
     * slab. Against the per-worker tiles of {@link #tiled} this hands the GEMM one large product instead of many 64-row
     * ones: measured on SmolLM2-135M at 256 tokens (2 threads), Q8_0 prefill went from 0.66x of fp32's to the ratio in
     * results/quant-speed.md.
     */
    private void slabs(float[] x, int tokens, float[] y) {
        int in = weight.cols();
        int out = weight.rows();
        int slabRows = (int) Math.max(TILE_ROWS, Math.min(out, SLAB_FLOATS / in));
        float[] slab = new float[slabRows * in];
        Gemm gemm = Gemm.active();
        for (int from = 0; from < out; from += slabRows) {
            int rows = Math.min(slabRows, out - from);
            int base = from;
            Parallel.forRange(rows, TILE_ROWS, (r0, r1) -> QuantKernels.dequantizeTile(weight, base + r0, base + r1, slab, r0 * in));
            gemm.sgemm(false, true, tokens, rows, in, 1f, x, 0, in, slab, 0, in, 0f, y, from, out);
        }
    }

    /** Prefill: row tiles dequantised into a per-worker buffer, each multiplied by a single-threaded GEMM. */
    private void tiled(float[] x, int tokens, float[] y) {
        int in = weight.cols();
        int out = weight.rows();
        Gemm gemm = Gemm.active().singleThreaded();
        int tiles = (out + TILE_ROWS - 1) / TILE_ROWS;
        Parallel.forRange(tiles, 1, (t0, t1) -> {
            float[] tile = new float[Math.min(TILE_ROWS, out) * in];
            for (int t = t0; t < t1; t++) {
                int from = t * TILE_ROWS;
                int rows = Math.min(TILE_ROWS, out - from);
                QuantKernels.dequantizeTile(weight, from, from + rows, tile);
                gemm.sgemm(false, true, tokens, rows, in, 1f, x, 0, in, tile, 0, in, 0f, y, from, out);
            }
        });
    }

    /** {@inheritDoc} The block bytes (fp16 scales included) plus 4 bytes per bias entry. */
    @Override
    public long parameterBytes() { return weight.byteSize() + (bias == null ? 0 : 4L * bias.length); }

    /** {@inheritDoc} A weight counts when its dequantised value is not zero; counted once, on first call. */
    @Override
    public long nonZeroParameters() {
        long n = nonZeroWeights;
        if (n < 0) nonZeroWeights = n = weight.countNonZeros();
        if (bias != null) for (float b : bias) if (b != 0f) n++;
        return n;
    }

    @Override
    public long totalParameters() { return (long) weight.rows() * weight.cols() + (bias == null ? 0 : bias.length); }

    @Override
    public String toString() {
        return "QuantLinear[" + weight.type() + ", " + weight.rows() + " x " + weight.cols() + (bias != null ? ", bias]" : "]");
    }
}
