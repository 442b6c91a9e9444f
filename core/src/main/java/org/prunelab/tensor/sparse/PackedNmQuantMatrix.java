package org.prunelab.tensor.sparse;

import java.util.Arrays;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * A weight matrix {@code [out_features, in_features]} with 2:4 or 4:8 sparsity whose kept values are quantised
 * like ggml's Q8_0 / Q4_0: the kept values of a row, in column order, are cut into blocks of {@value #BLOCK}
 * (64 dense columns at 2:4 and 4:8), and each block is stored as {@link QuantType#quantize} stores a ggml block
 * (round to nearest, one fp16 scale: {@code absmax / 127} for Q8_0, {@code signed max / -8} for Q4_0). So a
 * block here holds exactly the bytes of a ggml block, only its 32 values are the kept weights of 64 columns.
 *
 * <h2>Layout (per row; rows are independent and padded to whole blocks)</h2>
 * <ul>
 *   <li><b>slots</b>: as {@link PackedNmMatrix}: exactly N per full group of M columns (a group with fewer
 *       nonzeros is padded with zero slots at its lowest zero positions), min(N, s) for a trailing group of
 *       s &lt; M columns; {@link #slotsPerRow()} in all, padded with zero slots to {@link #blocksPerRow()} * 32.</li>
 *   <li>{@code quants}: per block the ggml block's quant bytes without its scale: 32 int8 (Q8_0), or 16 bytes
 *       of nibbles (Q4_0: value j &lt; 16 is the low nibble of byte j, value j + 16 its high nibble, each + 8).</li>
 *   <li>{@code scales}: per block the fp16 scale bits.</li>
 *   <li>{@code codes}: each slot's position inside its group, {@code log2(M)} bits: slot s is column
 *       {@code (s / N) * M + code(s)}. Slots go in windows of 16 (32 dense columns). At 2:4 a window is one int,
 *       slot j of the window at bits {@code [2j, 2j + 2)}: the same 4 bits per group as {@link PackedNmMatrix}'s
 *       bitmap (one-to-one with it, since every group holds exactly 2 slots). At 4:8 a window is 48 bits, slot j
 *       at bit {@code (j & 1) * 24 + 3 * (j >> 1)}, two windows to three ints: 12 bits per group, against the
 *       bitmap's 8.</li>
 * </ul>
 * Why codes and not the bitmap: the decode kernel ({@link NmQuantKernels}) computes on the kept values only and
 * routes x to them with one two-register permute per window, whose 16 lane indices are
 * {@code base_j | code_j}: three vector integer operations from a code word, where the bitmap needs a byte
 * compress of an iota vector and a widening. In design-time measurements (results/sparse-quant-bench.md) the
 * code kernel ran at 0.94-1.29x of a Q8_0 matvec's speed, the bitmap-index kernel at 0.74-0.83x and expanding
 * quants into dense lanes through the bitmap (as {@link PackedNmMatrix} does) at 0.77-0.88x.
 *
 * <p>Bytes per dense weight at 2:4 (in_features a multiple of 64): Q8_0 0.5 + 0.031 (scales) + 0.125 (codes)
 * = 0.656, Q4_0 0.406; at 4:8 0.719 and 0.469. Dense Q8_0 is 1.0625, Q4_0 0.5625. Block size: 32 values keeps
 * each block a ggml block (same rounding, error bounds and fixtures as {@code tensor/quant}); 64 would save
 * 0.016 bytes per weight and cost a larger error.
 */
public final class PackedNmQuantMatrix {
    /** Kept values per quantisation block (one fp16 scale each). */
    public static final int BLOCK = QuantType.BLOCK_SIZE;
    /** Slots per decode window: 16 kept values, 32 dense columns at 2:4 and 4:8. */
    static final int WINDOW = 16;
    /** Array slack so vector loads of a row's last block stay in bounds. */
    private static final int PAD = 64;

    private final int rows;
    private final int cols;
    private final int n;
    private final int m;
    private final QuantType type;
    private final int slotsPerRow;
    private final int blocksPerRow;
    private final int quantBytesPerBlock;
    private final int codeIntsPerRow;
    final byte[] quants;  // [rows * blocksPerRow * quantBytesPerBlock + PAD]
    final short[] scales; // [rows * blocksPerRow], fp16 bits
    final int[] codes;    // [rows * codeIntsPerRow + PAD]
    final NmQuantKernels.RowKernel kernel;

    private PackedNmQuantMatrix(int rows, int cols, int n, int m, QuantType type) {
        this.rows = rows;
        this.cols = cols;
        this.n = n;
        this.m = m;
        this.type = type;
        this.slotsPerRow = n * (cols / m) + Math.min(n, cols % m);
        this.blocksPerRow = (slotsPerRow + BLOCK - 1) / BLOCK;
        this.quantBytesPerBlock = type.blockBytes() - 2;
        int windows = (slotsPerRow + WINDOW - 1) / WINDOW;
        this.codeIntsPerRow = m == 4 ? windows : (windows + 1) / 2 * 3;
        long quantBytes = (long) rows * blocksPerRow * quantBytesPerBlock + PAD;
        long codeInts = (long) rows * codeIntsPerRow + PAD;
        if (quantBytes > Integer.MAX_VALUE - 8 || codeInts > Integer.MAX_VALUE - 8) {
            throw new PrunelabException.InvalidArgument("a [" + rows + ", " + cols + "] " + n + ":" + m + " " + type
                    + " matrix is too large for one Java array; split the layer");
        }
        this.quants = new byte[(int) quantBytes];
        this.scales = new short[rows * blocksPerRow];
        this.codes = new int[(int) codeInts];
        this.kernel = NmQuantKernels.RowKernel.of(type, m);
    }

    /** How a product with several tokens runs (results agree to float rounding; only speed differs). */
    public enum Prefill {
        /** {@link #TOKEN_BLOCKS} below {@value NmQuantKernels#SLAB_MIN_TOKENS} tokens, {@link #DEQUANTIZED_SLABS} from there on. */
        AUTO,
        /** Each row's kept values dequantised with their columns, multiplied into all tokens ({@link TokenBlocks}). */
        TOKEN_BLOCKS,
        /** Slabs of up to 4 MiB of W dequantised to dense fp32, each one {@link org.prunelab.tensor.Gemm#active()} product. */
        DEQUANTIZED_SLABS
    }

    /** Whether {@code n:m} is a pattern this format stores (2:4 and 4:8). */
    public static boolean supports(int n, int m) {
        return (n == 2 && m == 4) || (n == 4 && m == 8);
    }

    /** Whether {@code type} is a value encoding this format stores (Q8_0 and Q4_0). */
    public static boolean supports(QuantType type) {
        return type == QuantType.Q8_0 || type == QuantType.Q4_0;
    }

    /**
     * Packs and quantises {@code w} [out_features, in_features], which must have at most n nonzeros in every group
     * of m consecutive weights of a row. Any in_features works (partial last group, any multiple).
     *
     * @throws PrunelabException.InvalidArgument if the pattern is not 2:4 or 4:8, or naming the first row and group
     *         with more than n nonzeros (prune with the pattern first, or use csr or dense)
     */
    public static PackedNmQuantMatrix quantize(FloatMatrix w, int n, int m, QuantType type) {
        if (!supports(n, m)) {
            throw new PrunelabException.InvalidArgument("N:M pattern " + n + ":" + m + " is not supported by the"
                    + " quantised packed format: it stores 2:4 and 4:8; use the fp32 packed format (nm) for other patterns");
        }
        if (!supports(type)) throw new PrunelabException.InvalidArgument("value type " + type + " is not Q8_0 or Q4_0");
        PackedNmMatrix.findViolation(w, n, m).ifPresent(v -> {
            throw new PrunelabException.InvalidArgument("weights " + w + " are not " + n + ":" + m + " sparse: row "
                    + v.row() + ", group " + v.group() + " has " + v.nonZeros() + " nonzeros, more than " + n
                    + ": prune with the " + n + ":" + m + " pattern first, or use format csr or dense");
        });
        PackedNmQuantMatrix p = new PackedNmQuantMatrix(w.rows(), w.cols(), n, m, type);
        p.fill(w);
        return p;
    }

    private void fill(FloatMatrix w) {
        int padded = blocksPerRow * BLOCK;
        float[] kept = new float[padded];
        int[] code = new int[padded];
        byte[] block = new byte[type.blockBytes()];
        float[] d = w.data();
        for (int r = 0; r < rows; r++) {
            Arrays.fill(kept, 0f);
            int s = 0;
            for (int g0 = 0, base = r * cols; g0 < cols; g0 += m) {
                int size = Math.min(m, cols - g0);
                int nonZeros = 0;
                for (int p = 0; p < size; p++) if (d[base + g0 + p] != 0f) nonZeros++;
                int padding = Math.min(n, size) - nonZeros;
                for (int p = 0; p < size; p++) {
                    float v = d[base + g0 + p];
                    if (v == 0f && padding == 0) continue;
                    if (v == 0f) padding--;
                    kept[s] = v;
                    code[s++] = p;
                }
            }
            for (int b = 0; b < blocksPerRow; b++) {
                type.quantize(kept, b * BLOCK, BLOCK, block, 0);
                scales[r * blocksPerRow + b] = (short) ((block[0] & 0xFF) | (block[1] << 8));
                System.arraycopy(block, 2, quants, (r * blocksPerRow + b) * quantBytesPerBlock, quantBytesPerBlock);
            }
            for (int slot = 0; slot < slotsPerRow; slot++) putCode(r, slot, code[slot]);
        }
    }

    private void putCode(int r, int s, int code) {
        int co = r * codeIntsPerRow;
        int w = s / WINDOW;
        int j = s % WINDOW;
        if (m == 4) {
            codes[co + w] |= code << (2 * j);
            return;
        }
        long bit = 48L * w + (j & 1) * 24 + 3 * (j >> 1);
        int word = (int) (bit >>> 5);
        int shift = (int) (bit & 31);
        codes[co + word] |= code << shift;
        if (shift > 29) codes[co + word + 1] |= code >>> (32 - shift);
    }

    /** The 48 code bits of 4:8 window w of row r (slot j at bit {@code (j & 1) * 24 + 3 * (j >> 1)}). */
    long window48(int r, int w) {
        int i = r * codeIntsPerRow + (w >> 1) * 3;
        long lo = codes[i] & 0xFFFFFFFFL;
        long mid = codes[i + 1] & 0xFFFFFFFFL;
        if ((w & 1) == 0) return (lo | mid << 32) & 0xFFFFFFFFFFFFL;
        return (mid >>> 16) | (codes[i + 2] & 0xFFFFFFFFL) << 16;
    }

    /** Position of slot s of row r inside its group (0..M-1). */
    int code(int r, int s) {
        int j = s % WINDOW;
        if (m == 4) return (codes[r * codeIntsPerRow + s / WINDOW] >>> (2 * j)) & 3;
        return (int) (window48(r, s / WINDOW) >>> ((j & 1) * 24 + 3 * (j >> 1))) & 7;
    }

    /** The column of slot s of row r. */
    int column(int r, int s) {
        return s / n * m + code(r, s);
    }

    /** The integer quant of slot s of row r: q for Q8_0, nibble - 8 for Q4_0. */
    int quant(int r, int s) {
        int o = (r * blocksPerRow + s / BLOCK) * quantBytesPerBlock;
        int j = s % BLOCK;
        if (type == QuantType.Q8_0) return quants[o + j];
        int b = quants[o + (j & 15)] & 0xFF;
        return (j < 16 ? b & 0x0F : b >>> 4) - 8;
    }

    /** The fp32 scale of block b of row r. */
    float scale(int r, int b) {
        return Float.float16ToFloat(scales[r * blocksPerRow + b]);
    }

    /** The dequantised value of slot s of row r: quant times its block's scale (exact in fp32). */
    float value(int r, int s) {
        return quant(r, s) * scale(r, s / BLOCK);
    }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** N: weights kept per group. */
    public int n() { return n; }

    /** M: group size. */
    public int m() { return m; }

    /** How kept values are quantised. */
    public QuantType type() { return type; }

    /** Kept values per row, zero padding slots included, block padding excluded. */
    public int slotsPerRow() { return slotsPerRow; }

    /** Quantisation blocks (scales) per row. */
    public int blocksPerRow() { return blocksPerRow; }

    int quantBytesPerBlock() { return quantBytesPerBlock; }

    int codeIntsPerRow() { return codeIntsPerRow; }

    /** Stored quants that are not zero (a weight can quantise to zero). */
    public long nonZeros() {
        long count = 0;
        for (int r = 0; r < rows; r++) for (int s = 0; s < slotsPerRow; s++) if (quant(r, s) != 0) count++;
        return count;
    }

    /**
     * Bytes {@link #bytes()} reports for a {@code [rows, cols]} matrix of this pattern and type, computed from the
     * layout alone (for predictions and the format registry).
     */
    public static long bytes(int rows, int cols, int n, int m, QuantType type) {
        int slots = n * (cols / m) + Math.min(n, cols % m);
        int blocks = (slots + BLOCK - 1) / BLOCK;
        int windows = (slots + WINDOW - 1) / WINDOW;
        int codeInts = m == 4 ? windows : (windows + 1) / 2 * 3;
        return (long) rows * (blocks * (long) type.blockBytes() + 4L * codeInts);
    }

    /** Bytes of quants, scales and codes (what one product streams), array slack excluded. */
    public long bytes() {
        return (long) rows * (blocksPerRow * (quantBytesPerBlock + 2L) + 4L * codeIntsPerRow);
    }

    /** The dequantised dense [rows, cols] matrix this stores: each kept value is quant * scale. */
    public FloatMatrix toDense() {
        FloatMatrix w = FloatMatrix.zeros(rows, cols);
        for (int r = 0; r < rows; r++) for (int s = 0; s < slotsPerRow; s++) w.set(r, column(r, s), value(r, s));
        return w;
    }

    /**
     * {@code y[t, r] = sum_c W[r, c] * x[t, c]}: x is [tokens, cols], y is [tokens, rows], both row-major; y is
     * overwritten. Rows are split over {@link org.prunelab.tensor.Parallel}'s threads.
     */
    public void multiply(float[] x, int tokens, float[] y) {
        multiply(x, tokens, y, Prefill.AUTO);
    }

    /** {@link #multiply(float[], int, float[])} with a chosen prefill path (tokens &gt; 1), for benchmarks. */
    public void multiply(float[] x, int tokens, float[] y, Prefill prefill) {
        NmQuantKernels.multiply(this, x, tokens, y, prefill);
    }

    @Override
    public String toString() {
        return "PackedNmQuantMatrix[" + rows + ", " + cols + ", " + n + ":" + m + " " + type + "]";
    }
}
