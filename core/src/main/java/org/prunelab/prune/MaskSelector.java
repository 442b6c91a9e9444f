package org.prunelab.prune;

import java.util.Arrays;

/**
 * Turns a score matrix into a mask: the lowest scores are pruned. The only place selection is written;
 * every method (magnitude, Wanda, SparseGPT's blocks, any new score) calls it with its own scores.
 *
 * <p>Scores are row-major {@code [rows, cols]} doubles, lower meaning less important. Rules, following
 * the public reference code (locuslab/wanda {@code lib/prune.py}, {@code lib/sparsegpt.py}):
 * <ul>
 *   <li>{@link Group#MATRIX}: one threshold for the whole matrix. With {@code k = floor(numel * sparsity)},
 *       the threshold is the (k+1)-th smallest score and every score {@code <=} it is pruned: k + 1
 *       weights when scores are distinct, more when scores tie at the threshold. Sparsity 0 prunes nothing.</li>
 *   <li>{@link Group#ROW}: exactly {@code floor(cols * sparsity)} per row; among equal scores the lower
 *       column index is pruned first (the reference's stable sort).</li>
 *   <li>N:M: in every group of m consecutive columns of a row, the m - n lowest are pruned, ties towards
 *       the lower index (the reference's torch.topk leaves tie order unspecified).</li>
 * </ul>
 */
public final class MaskSelector {
    private MaskSelector() {}

    /** Which weights compete with each other under an unstructured pattern. */
    public enum Group {
        /** All weights of the matrix (magnitude; SparseGPT per block of columns). */
        MATRIX,
        /** The weights of one output row (Wanda). */
        ROW
    }

    /** Selects by {@code pattern}: N:M groups, or unstructured within {@code group}. */
    public static Mask select(double[] scores, int rows, int cols, SparsityPattern pattern, Group group) {
        return switch (pattern) {
            case SparsityPattern.NM nm -> nm(scores, rows, cols, nm);
            case SparsityPattern.Unstructured u -> group == Group.ROW
                    ? perRow(scores, rows, cols, u.sparsity())
                    : perMatrix(scores, rows, cols, u.sparsity());
        };
    }

    /** One threshold over the matrix; see the class comment for the tie rule. */
    public static Mask perMatrix(double[] scores, int rows, int cols, double sparsity) {
        checkShape(scores, rows, cols);
        Mask mask = new Mask(rows, cols);
        int n = rows * cols;
        if (sparsity == 0 || n == 0) return mask;
        double[] sorted = scores.clone();
        Arrays.sort(sorted);
        double threshold = sorted[Math.min((int) (n * sparsity), n - 1)];
        for (int i = 0; i < n; i++) {
            if (scores[i] <= threshold) mask.prune(i / cols, i % cols);
        }
        return mask;
    }

    /** floor(cols * sparsity) lowest scores of each row. */
    public static Mask perRow(double[] scores, int rows, int cols, double sparsity) {
        checkShape(scores, rows, cols);
        Mask mask = new Mask(rows, cols);
        int k = (int) (cols * sparsity);
        if (k == 0) return mask;
        double[] row = new double[cols];
        for (int r = 0; r < rows; r++) {
            System.arraycopy(scores, r * cols, row, 0, cols);
            Arrays.sort(row);
            double kth = row[k - 1];
            // Everything strictly below the k-th smallest goes; the rest of the k come from the scores
            // equal to it, in column order, which is what a stable sort would pick.
            int below = 0;
            for (int c = 0; c < cols; c++) if (scores[r * cols + c] < kth) below++;
            int equalToTake = k - below;
            for (int c = 0; c < cols; c++) {
                double s = scores[r * cols + c];
                if (s < kth) {
                    mask.prune(r, c);
                } else if (s == kth && equalToTake > 0) {
                    mask.prune(r, c);
                    equalToTake--;
                }
            }
        }
        return mask;
    }

    /** N:M: the m - n lowest of every group of m consecutive columns in each row. */
    public static Mask nm(double[] scores, int rows, int cols, SparsityPattern.NM pattern) {
        checkShape(scores, rows, cols);
        pattern.checkDivides(cols, "the score matrix");
        Mask mask = new Mask(rows, cols);
        boolean[] group = new boolean[pattern.m()];
        for (int r = 0; r < rows; r++) {
            for (int c0 = 0; c0 < cols; c0 += pattern.m()) {
                lowestInGroup(scores, r * cols + c0, pattern.m(), pattern.prunedPerGroup(), group);
                for (int k = 0; k < group.length; k++) if (group[k]) mask.prune(r, c0 + k);
            }
        }
        return mask;
    }

    /**
     * Marks in {@code out[0..m)} the {@code count} lowest of {@code scores[offset .. offset+m)}, ties
     * towards the lower index. The N:M primitive, also used by SparseGPT group by group.
     */
    static void lowestInGroup(double[] scores, int offset, int m, int count, boolean[] out) {
        Arrays.fill(out, 0, m, false);
        for (int picked = 0; picked < count; picked++) {
            int best = -1;
            for (int k = 0; k < m; k++) {
                if (!out[k] && (best < 0 || scores[offset + k] < scores[offset + best])) best = k;
            }
            out[best] = true;
        }
    }

    private static void checkShape(double[] scores, int rows, int cols) {
        if ((long) rows * cols != scores.length) {
            throw new IllegalArgumentException("scores of length " + scores.length + " are not [" + rows + ", " + cols + "]");
        }
    }
}
