package org.prunelab.tensor.sparse;

import java.util.Optional;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

/**
 * A weight matrix {@code [out_features, in_features]} with N:M sparsity (at most N nonzeros in every
 * group of M consecutive weights of a row; see REFERENCE.md "N:M"), stored as the kept values plus
 * their in-group positions packed as bits. Supports {@code 0 < n < m <= 8} (2:4 and 4:8 are the
 * patterns pruning produces).
 *
 * <h2>Layout</h2>
 * <ul>
 *   <li>{@code values}: row-major, exactly {@link #slotsPerRow()} floats per row, in column order.
 *       A full group contributes exactly N slots; a group with fewer than N nonzeros is padded with
 *       zero-valued slots at its lowest zero positions, so every row has the same length and the N:M
 *       structure is exact. A trailing partial group (in_features not a multiple of M) of size s
 *       contributes min(N, s) slots.</li>
 *   <li>{@code positions}: the in-group positions as an occupancy bitmap, M bits per group: bit
 *       {@code c} of row r's bit string is set when column c holds a slot. Groups are consecutive
 *       columns, so group g owns bits {@code [g*M, g*M + M)}. The bit string is stored little-endian
 *       in {@code long} words, bit c in word {@code c >>> 6} at bit {@code c & 63}; each row starts a
 *       new word ({@link #wordsPerRow()} words per row).</li>
 * </ul>
 * For 2:4 and 4:8 this is 2 bits of position per kept value (M/N bits in general): the same as two
 * 2-bit indices per 2:4 group and less than 3-bit indices for 4:8. A 576-wide 2:4 row is 1152 bytes of
 * values plus 72 bytes of bitmap, 0.53x of its 2304 dense bytes.
 *
 * <h2>Kernels</h2>
 * The bitmap is chosen over index lists because it decodes without gathers: for one vector of L
 * consecutive columns, the L bits of the bitmap become a lane mask, and {@code expand} spreads the
 * next popcount(mask) kept values into those lanes, zeros elsewhere; one FMA with a contiguous load
 * of x follows. Prefill decodes each row's columns once and runs {@link TokenBlocks}.
 */
public final class PackedNmMatrix {
    private static final VectorSpecies<Float> S = TokenBlocks.S;
    private static final int L = TokenBlocks.L;
    private static final long LANE_BITS = L == 64 ? -1L : (1L << L) - 1;

    private final int rows;
    private final int cols;
    private final int n;
    private final int m;
    private final int slotsPerRow;
    private final int wordsPerRow;
    private final float[] values;   // [rows * slotsPerRow + L]: padded so full-vector reads stay in bounds
    private final long[] positions; // [rows * wordsPerRow]

    /** The first group found with more than N nonzeros. */
    public record Violation(int row, int group, int nonZeros) {}

    private PackedNmMatrix(int rows, int cols, int n, int m, float[] values, long[] positions) {
        this.rows = rows;
        this.cols = cols;
        this.n = n;
        this.m = m;
        this.slotsPerRow = slotsPerRow(cols, n, m);
        this.wordsPerRow = wordsPerRow(cols);
        this.values = values;
        this.positions = positions;
    }

    /**
     * Packs {@code w} [out_features, in_features], which must have at most {@code n} nonzeros in every
     * group of {@code m} consecutive weights of a row.
     *
     * @throws PrunelabException.InvalidArgument if the pattern is invalid, or naming the first row and
     *         group with more than n nonzeros (the weights are not n:m; CSR or dense can hold them)
     */
    public static PackedNmMatrix of(FloatMatrix w, int n, int m) {
        checkPattern(n, m);
        findViolation(w, n, m).ifPresent(v -> {
            throw new PrunelabException.InvalidArgument("weights " + w + " are not " + n + ":" + m + " sparse: row "
                    + v.row() + ", group " + v.group() + " (columns " + (v.group() * m) + ".."
                    + Math.min(w.cols(), v.group() * m + m - 1) + ") has " + v.nonZeros() + " nonzeros, more than "
                    + n + ": prune with the " + n + ":" + m + " pattern first, or use format csr (unstructured "
                    + "sparsity) or dense");
        });
        int rows = w.rows();
        int cols = w.cols();
        int slots = slotsPerRow(cols, n, m);
        int words = wordsPerRow(cols);
        if ((long) rows * slots + L > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("matrix " + w + " is too large for one packed value array");
        }
        float[] values = new float[rows * slots + L];
        long[] positions = new long[rows * words];
        float[] d = w.data();
        int k = 0;
        for (int r = 0; r < rows; r++) {
            int rowBase = r * cols;
            for (int g0 = 0; g0 < cols; g0 += m) {
                int size = Math.min(m, cols - g0);
                int padding = Math.min(n, size) - nonZeros(d, rowBase + g0, size);
                for (int p = 0; p < size; p++) {
                    float v = d[rowBase + g0 + p];
                    if (v == 0f && padding == 0) continue;
                    if (v == 0f) padding--;
                    int c = g0 + p;
                    positions[r * words + (c >>> 6)] |= 1L << (c & 63);
                    values[k++] = v;
                }
            }
        }
        return new PackedNmMatrix(rows, cols, n, m, values, positions);
    }

    /** The first row and group of {@code w} with more than {@code n} nonzeros, if any. */
    public static Optional<Violation> findViolation(FloatMatrix w, int n, int m) {
        checkPattern(n, m);
        float[] d = w.data();
        int cols = w.cols();
        for (int r = 0; r < w.rows(); r++) {
            for (int g0 = 0; g0 < cols; g0 += m) {
                int count = nonZeros(d, r * cols + g0, Math.min(m, cols - g0));
                if (count > n) return Optional.of(new Violation(r, g0 / m, count));
            }
        }
        return Optional.empty();
    }

    private static void checkPattern(int n, int m) {
        if (n <= 0 || n >= m || m > 8) {
            throw new PrunelabException.InvalidArgument("N:M pattern " + n + ":" + m
                    + " is not supported by the packed format: it needs 0 < N < M <= 8, e.g. 2:4 or 4:8");
        }
    }

    private static int nonZeros(float[] d, int from, int size) {
        int count = 0;
        for (int i = 0; i < size; i++) if (d[from + i] != 0f) count++;
        return count;
    }

    private static int slotsPerRow(int cols, int n, int m) {
        return n * (cols / m) + Math.min(n, cols % m);
    }

    private static int wordsPerRow(int cols) {
        return (cols + 63) >>> 6;
    }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** N: weights kept per group. */
    public int n() { return n; }

    /** M: group size. */
    public int m() { return m; }

    /** Stored values per row (kept weights, including zero padding slots). */
    public int slotsPerRow() { return slotsPerRow; }

    /** 64-bit bitmap words per row. */
    public int wordsPerRow() { return wordsPerRow; }

    /** Stored values that are not zero. */
    public long nonZeros() {
        long count = 0;
        for (int i = 0; i < rows * slotsPerRow; i++) if (values[i] != 0f) count++;
        return count;
    }

    /** Bytes of values and position bitmap (what one product streams), padding excluded. */
    public long bytes() {
        return 4L * rows * slotsPerRow + 8L * rows * wordsPerRow;
    }

    /** The dense [rows, cols] matrix this stores. */
    public FloatMatrix toDense() {
        FloatMatrix w = FloatMatrix.zeros(rows, cols);
        int[] columns = new int[slotsPerRow];
        for (int r = 0; r < rows; r++) {
            decodeColumns(r, columns);
            for (int s = 0; s < slotsPerRow; s++) w.set(r, columns[s], values[r * slotsPerRow + s]);
        }
        return w;
    }

    /**
     * {@code y[t, r] = sum_c W[r, c] * x[t, c]}: x is [tokens, cols], y is [tokens, rows], both row-major.
     * One token uses the expand matvec; more use {@link TokenBlocks} on decoded column lists.
     */
    public void multiply(float[] x, int tokens, float[] y) {
        long work = (long) rows * slotsPerRow * tokens;
        if (tokens == 1) {
            SparseLoops.forRows(rows, work, (from, to) -> {
                for (int r = from; r < to; r++) y[r] = rowDot(r, x);
            });
            return;
        }
        float[] xt = TokenBlocks.transpose(x, tokens, cols);
        int[] strides = TokenBlocks.outputStrides(rows);
        SparseLoops.forRows(rows, work, (from, to) -> {
            float[] lanes = new float[TokenBlocks.L];
            int[] columns = new int[slotsPerRow];
            for (int r = from; r < to; r++) {
                decodeColumns(r, columns);
                TokenBlocks.row(values, r * slotsPerRow, columns, 0, slotsPerRow, xt, tokens, y, rows, r, strides, lanes);
            }
        });
    }

    /** Row r of W times x[0, cols), decoding the bitmap into lane masks (no gathers). */
    private float rowDot(int r, float[] x) {
        int vo = r * slotsPerRow;
        int wo = r * wordsPerRow;
        FloatVector acc0 = FloatVector.zero(S);
        FloatVector acc1 = acc0;
        int c = 0;
        if (L % m == 0) {
            // Groups tile a full chunk of L columns, so it holds exactly L*n/m slots: the value offsets
            // are known without counting bits, and the value loads need not wait for the bitmap loads
            // (that dependency halved the streaming speed). Two accumulators hide the FMA latency.
            int chunkSlots = L / m * n;
            for (int limit = cols - 2 * L; c <= limit; c += 2 * L, vo += 2 * chunkSlots) {
                acc0 = expand(vo, chunkBits(wo, c)).fma(FloatVector.fromArray(S, x, c), acc0);
                acc1 = expand(vo + chunkSlots, chunkBits(wo, c + L)).fma(FloatVector.fromArray(S, x, c + L), acc1);
            }
        }
        for (; c < cols; c += L) {
            long bits = chunkBits(wo, c);
            acc0 = expand(vo, bits).fma(FloatVector.fromArray(S, x, c, S.indexInRange(c, cols)), acc0);
            vo += Long.bitCount(bits);
        }
        return org.prunelab.tensor.VectorMath.sumLanes(acc0.add(acc1));
    }

    /** The bitmap bits of columns [c, c + L) of the row whose words start at wo (L divides 64). */
    private long chunkBits(int wo, int c) {
        return (positions[wo + (c >>> 6)] >>> (c & 63)) & LANE_BITS;
    }

    /** The next popcount(bits) values from vo, spread into the lanes whose bit is set, zeros elsewhere. */
    private FloatVector expand(int vo, long bits) {
        return FloatVector.fromArray(S, values, vo).expand(VectorMask.fromLong(S, bits));
    }

    /** Writes the column of each of row r's slots into {@code columns[0, slotsPerRow)}. */
    private void decodeColumns(int r, int[] columns) {
        int s = 0;
        for (int word = 0; word < wordsPerRow; word++) {
            long bits = positions[r * wordsPerRow + word];
            while (bits != 0) {
                columns[s++] = (word << 6) + Long.numberOfTrailingZeros(bits);
                bits &= bits - 1;
            }
        }
    }
}
