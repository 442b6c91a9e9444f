package org.prunelab.tensor;

import java.util.Arrays;

/**
 * A dense fp32 matrix stored row-major in one array: element (r, c) lives at {@code data[r * cols + c]}.
 * Linear-layer weights use the Hugging Face layout {@code [out_features, in_features]}, so a row is
 * one output neuron and a column one input feature. The array is exposed on purpose: kernels and
 * pruning methods work on it directly. Shape is fixed; contents may change (pruning zeroes entries).
 */
public final class FloatMatrix {
    private final int rows;
    private final int cols;
    private final float[] data;

    /** Wraps {@code data} (not copied). @throws IllegalArgumentException if the length is not rows*cols. */
    public FloatMatrix(int rows, int cols, float[] data) {
        if (rows < 0 || cols < 0 || (long) rows * cols != data.length) {
            throw new IllegalArgumentException(
                    "matrix shape [" + rows + ", " + cols + "] does not match " + data.length + " elements");
        }
        this.rows = rows;
        this.cols = cols;
        this.data = data;
    }

    /** A zero matrix of shape [rows, cols]. */
    public static FloatMatrix zeros(int rows, int cols) {
        if ((long) rows * cols > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("matrix [" + rows + ", " + cols + "] exceeds one Java array");
        }
        return new FloatMatrix(rows, cols, new float[rows * cols]);
    }

    public int rows() { return rows; }

    public int cols() { return cols; }

    /** The backing row-major array (not a copy). */
    public float[] data() { return data; }

    public float get(int r, int c) { return data[r * cols + c]; }

    public void set(int r, int c, float v) { data[r * cols + c] = v; }

    /** Number of elements, rows * cols. */
    public long size() { return (long) rows * cols; }

    /** A deep copy. */
    public FloatMatrix copy() { return new FloatMatrix(rows, cols, data.clone()); }

    /** The transpose, a new [cols, rows] matrix. */
    public FloatMatrix transpose() {
        float[] t = new float[data.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = data[r * cols + c];
            }
        }
        return new FloatMatrix(cols, rows, t);
    }

    /** Number of entries exactly equal to zero. */
    public long countZeros() {
        long n = 0;
        for (float v : data) if (v == 0f) n++;
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FloatMatrix m && m.rows == rows && m.cols == cols && Arrays.equals(m.data, data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * rows + cols) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "FloatMatrix[" + rows + ", " + cols + "]";
    }
}
