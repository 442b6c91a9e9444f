package org.prunelab.tensor.sparse;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;
import org.prunelab.tensor.FloatMatrix;

/**
 * A weight matrix {@code [out_features, in_features]} in compressed sparse row (CSR) form: the
 * nonzeros of row r are {@code values[rowPtr[r] .. rowPtr[r+1])}, with their columns in
 * {@code colIndex} at the same positions, columns ascending. Immutable once built.
 *
 * <p>Memory: 4 bytes of value + 4 bytes of column index per nonzero, plus 4 bytes per row, so CSR
 * moves fewer bytes than dense fp32 only above 50% sparsity (at 70%, 2.4 bytes per weight vs 4).
 * The matrix-vector kernel gathers x through the column indices
 * ({@code FloatVector.fromArray(species, x, 0, colIndex, k)}), one vector of nonzeros at a time; the
 * matrix-matrix kernel is {@link TokenBlocks}.
 */
public final class CsrMatrix {
    private static final VectorSpecies<Float> S = TokenBlocks.S;
    private static final int L = TokenBlocks.L;

    private final int rows;
    private final int cols;
    private final int[] rowPtr;   // [rows + 1]
    private final int[] colIndex; // [nnz + L]: the tail is padding so full-vector reads stay in bounds
    private final float[] values; // [nnz + L]

    private CsrMatrix(int rows, int cols, int[] rowPtr, int[] colIndex, float[] values) {
        this.rows = rows;
        this.cols = cols;
        this.rowPtr = rowPtr;
        this.colIndex = colIndex;
        this.values = values;
    }

    /** Compresses {@code w} [out_features, in_features], keeping every entry that is not exactly zero. */
    public static CsrMatrix of(FloatMatrix w) {
        int rows = w.rows();
        int cols = w.cols();
        float[] d = w.data();
        long nnz = w.size() - w.countZeros();
        if (nnz > Integer.MAX_VALUE - 2L * L) {
            throw new IllegalArgumentException("matrix " + w + " has " + nnz + " nonzeros, more than one CSR array holds");
        }
        int[] rowPtr = new int[rows + 1];
        int[] colIndex = new int[(int) nnz + L];
        float[] values = new float[(int) nnz + L];
        int k = 0;
        for (int r = 0; r < rows; r++) {
            int base = r * cols;
            for (int c = 0; c < cols; c++) {
                float v = d[base + c];
                if (v != 0f) {
                    colIndex[k] = c;
                    values[k++] = v;
                }
            }
            rowPtr[r + 1] = k;
        }
        return new CsrMatrix(rows, cols, rowPtr, colIndex, values);
    }

    /** Rows: out_features. */
    public int rows() { return rows; }

    /** Columns: in_features. */
    public int cols() { return cols; }

    /** Stored nonzeros. */
    public int nonZeros() { return rowPtr[rows]; }

    /** Bytes of values, column indices and row pointers (what one product streams), padding excluded. */
    public long bytes() {
        return 8L * nonZeros() + 4L * (rows + 1);
    }

    /** The dense [rows, cols] matrix this stores. */
    public FloatMatrix toDense() {
        FloatMatrix w = FloatMatrix.zeros(rows, cols);
        for (int r = 0; r < rows; r++) {
            for (int k = rowPtr[r]; k < rowPtr[r + 1]; k++) w.set(r, colIndex[k], values[k]);
        }
        return w;
    }

    /**
     * {@code y[t, r] = sum_c W[r, c] * x[t, c]}: x is [tokens, cols], y is [tokens, rows], both row-major.
     * Uses the gather matvec for one token and {@link TokenBlocks} for more.
     */
    public void multiply(float[] x, int tokens, float[] y) {
        long work = (long) nonZeros() * tokens;
        if (tokens == 1) {
            SparseLoops.forRows(rows, work, (from, to) -> matvec(x, y, from, to));
            return;
        }
        float[] xt = TokenBlocks.transpose(x, tokens, cols);
        int[] strides = TokenBlocks.outputStrides(rows);
        SparseLoops.forRows(rows, work, (from, to) -> {
            float[] lanes = new float[L];
            for (int r = from; r < to; r++) {
                int start = rowPtr[r];
                TokenBlocks.row(values, start, colIndex, start, rowPtr[r + 1] - start, xt, tokens, y, rows, r, strides, lanes);
            }
        });
    }

    private void matvec(float[] x, float[] y, int from, int to) {
        for (int r = from; r < to; r++) {
            int k = rowPtr[r];
            int end = rowPtr[r + 1];
            FloatVector acc = FloatVector.zero(S);
            for (; k + L <= end; k += L) {
                acc = FloatVector.fromArray(S, values, k).fma(FloatVector.fromArray(S, x, 0, colIndex, k), acc);
            }
            if (k < end) {
                VectorMask<Float> live = S.indexInRange(k, end);
                acc = FloatVector.fromArray(S, values, k, live)
                        .fma(FloatVector.fromArray(S, x, 0, colIndex, k, live), acc);
            }
            y[r] = org.prunelab.tensor.VectorMath.sumLanes(acc);
        }
    }
}
