package org.prunelab.prune;

import java.util.BitSet;
import org.prunelab.tensor.FloatMatrix;

/**
 * Which weights of a {@code [rows, cols]} = {@code [out_features, in_features]} matrix are pruned.
 * Bit {@code r * cols + c} set means weight (r, c) is removed. Mutable only inside this package, while
 * a method builds it.
 */
public final class Mask {
    private final int rows;
    private final int cols;
    private final BitSet pruned;

    Mask(int rows, int cols) {
        this.rows = rows;
        this.cols = cols;
        this.pruned = new BitSet(Math.multiplyExact(rows, cols));
    }

    /** A mask with the given pruned positions; {@code bits} is copied. */
    public static Mask of(int rows, int cols, BitSet bits) {
        Mask m = new Mask(rows, cols);
        m.pruned.or(bits);
        if (m.pruned.length() > rows * cols) {
            throw new IllegalArgumentException("mask bits beyond [" + rows + ", " + cols + "]");
        }
        return m;
    }

    public int rows() { return rows; }

    public int cols() { return cols; }

    public boolean isPruned(int r, int c) { return pruned.get(r * cols + c); }

    void prune(int r, int c) { pruned.set(r * cols + c); }

    /** Number of pruned weights. */
    public long prunedCount() { return pruned.cardinality(); }

    /** Number of pruned weights in row r. */
    public int prunedInRow(int r) { return pruned.get(r * cols, (r + 1) * cols).cardinality(); }

    /** Pruned weights over all weights. */
    public double sparsity() { return rows * cols == 0 ? 0 : (double) prunedCount() / ((long) rows * cols); }

    /** Sets every pruned weight of {@code weight} (same shape) to zero. */
    public void applyTo(FloatMatrix weight) {
        if (weight.rows() != rows || weight.cols() != cols) {
            throw new IllegalArgumentException("mask [" + rows + ", " + cols + "] applied to " + weight);
        }
        float[] w = weight.data();
        for (int i = pruned.nextSetBit(0); i >= 0; i = pruned.nextSetBit(i + 1)) w[i] = 0f;
    }

    /** A copy of the pruned bits, index r * cols + c. */
    public BitSet bits() { return (BitSet) pruned.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof Mask m && m.rows == rows && m.cols == cols && m.pruned.equals(pruned);
    }

    @Override
    public int hashCode() { return 31 * (31 * rows + cols) + pruned.hashCode(); }

    @Override
    public String toString() { return "Mask[" + rows + ", " + cols + ", pruned=" + prunedCount() + "]"; }
}
