package org.prunelab.prune;

import java.util.stream.IntStream;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;

/**
 * SparseGPT (Frantar &amp; Alistarh, "SparseGPT: Massive Language Models Can Be Accurately Pruned in
 * One-Shot", ICML 2023, Alg. 1): prunes columns left to right and moves each removed weight's error onto
 * the not-yet-processed columns of its row, using the inverse Hessian of the layer-wise squared error.
 *
 * <p>Steps, as in the reference ({@code lib/sparsegpt.py} fasterprune): inputs never active
 * ({@code H_jj = 0}) get {@code H_jj = 1} and their weight column zeroed; {@code percdamp * mean(diag H)}
 * is added to the diagonal; U is the upper Cholesky factor of {@code (H + damp I)^-1}. Columns go in blocks
 * of {@code blocksize}: for unstructured sparsity the block's mask comes from one threshold over its
 * {@code rows x blocksize} scores {@code w^2 / U_jj^2} ({@link MaskSelector.Group#MATRIX} rule); for N:M,
 * at every group of M columns each row prunes its M-N lowest scores, computed from the already-updated
 * weights. Each pruned column's error {@code (w - q) / U_jj} updates the later columns of the block
 * (row of U), and after the block all later columns at once (lazy batch update).
 *
 * <p>All arithmetic is in double (the reference uses float32 on GPU); the result is rounded to float32.
 * For N:M the block size is rounded down to a multiple of M (128 for M = 4 or 8), which changes nothing
 * mathematically since N:M masks are chosen group by group.
 *
 * <p>Cholesky failure (H + damp I not numerically positive definite, e.g. with very few tokens) is retried
 * with percdamp multiplied by 10, up to three times (0.01, 0.1, 1, 10 by default); the damping used is
 * reported in {@link PruneResult#percdamp()}.
 */
public final class SparseGptPruner implements PruningMethod<HessianStats> {
    /** The registry entry. */
    public static final Method METHOD = LayerwisePruner.method("sparsegpt",
            "remove by w^2 / [H^-1]_jj and move each removed weight's error onto the remaining columns (OBS update)",
            "Frantar & Alistarh, \"SparseGPT: Massive Language Models Can Be Accurately Pruned in One-Shot\", ICML 2023",
            "the weights of every block of 128 columns (one threshold per rows x 128 block)", true, SparseGptPruner::new);
    /** Retries after the first attempt, each with 10x the damping. */
    static final int DAMPING_RETRIES = 3;
    /** Columns per tile of the lazy update (a 128 x 256 tile of U is 256 KiB). */
    private static final int LAZY_TILE = 256;

    private final int blocksize;
    private final double percdamp;

    /** The reference settings: blocksize 128, percdamp 0.01. */
    public SparseGptPruner() {
        this(128, 0.01);
    }

    /**
     * @param blocksize columns per lazy-update block (mask comparison group for unstructured sparsity)
     * @param percdamp  damping as a fraction of mean(diag H), &gt; 0
     */
    public SparseGptPruner(int blocksize, double percdamp) {
        if (blocksize < 1 || !(percdamp > 0)) {
            throw new PrunelabException.InvalidArgument("SparseGPT needs blocksize >= 1 and percdamp > 0, got "
                    + blocksize + " and " + percdamp + ": the reference uses 128 and 0.01");
        }
        this.blocksize = blocksize;
        this.percdamp = percdamp;
    }

    @Override
    public String name() { return "sparsegpt"; }

    @Override
    public HessianStats newStats(int inFeatures) { return new HessianStats(inFeatures); }

    @Override
    public PruneResult prune(FloatMatrix weight, HessianStats stats, SparsityPattern pattern) {
        Checks.stats(name(), weight, stats, true);
        Checks.pattern(weight, pattern);
        int rows = weight.rows();
        int cols = weight.cols();
        double[] h = stats.hessian();
        double[] w = new double[rows * cols];
        float[] wf = weight.data();
        for (int i = 0; i < w.length; i++) w[i] = wf[i];

        int dead = 0;
        for (int j = 0; j < cols; j++) {
            if (h[j * cols + j] == 0) {
                dead++;
                h[j * cols + j] = 1;
                for (int r = 0; r < rows; r++) w[r * cols + j] = 0;
            }
        }
        double[] u = null;
        double damping = percdamp;
        double meanDiag = 0;
        for (int j = 0; j < cols; j++) meanDiag += h[j * cols + j];
        meanDiag /= cols;
        if (Double.isFinite(meanDiag)) {
            for (int attempt = 0; attempt <= DAMPING_RETRIES; attempt++, damping *= 10) {
                double[] damped = h.clone();
                for (int j = 0; j < cols; j++) damped[j * cols + j] += damping * meanDiag;
                u = Cholesky.upperFactorOfInverse(damped, cols);
                if (u != null) break;
            }
        }
        if (u == null) {
            throw new PrunelabException("SparseGPT: the Hessian of weight " + Checks.shape(weight) + " ("
                    + stats.tokens() + " calibration tokens) is not positive definite even with percdamp "
                    + percdamp * Math.pow(10, DAMPING_RETRIES) + ": the calibration inputs probably contain NaN"
                    + " or Inf; check the captured activations or use more calibration tokens");
        }

        Mask mask = new Mask(rows, cols);
        int block = pattern instanceof SparsityPattern.NM nm ? Math.max(nm.m(), blocksize - blocksize % nm.m()) : blocksize;
        for (int i1 = 0; i1 < cols; i1 += block) {
            pruneBlock(w, u, rows, cols, i1, Math.min(i1 + block, cols), pattern, mask);
        }
        for (int i = 0; i < w.length; i++) wf[i] = (float) w[i];
        return new PruneResult(mask, dead, damping);
    }

    /** Columns [i1, i2): choose the mask, prune with in-block error propagation, then the lazy update. */
    private static void pruneBlock(double[] w, double[] u, int rows, int cols, int i1, int i2,
                                   SparsityPattern pattern, Mask mask) {
        int count = i2 - i1;
        double[] d2 = new double[count];
        for (int i = 0; i < count; i++) d2[i] = u[(i1 + i) * cols + i1 + i] * u[(i1 + i) * cols + i1 + i];
        boolean[] pruned = new boolean[rows * count]; // [rows, count]
        if (pattern instanceof SparsityPattern.Unstructured un) {
            double[] scores = new double[rows * count];
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < count; i++) {
                    double v = w[r * cols + i1 + i];
                    scores[r * count + i] = v * v / d2[i];
                }
            }
            Mask blockMask = MaskSelector.perMatrix(scores, rows, count, un.sparsity());
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < count; i++) pruned[r * count + i] = blockMask.isPruned(r, i);
            }
        }
        SparsityPattern.NM nm = pattern instanceof SparsityPattern.NM p ? p : null;
        double[] err = new double[rows * count];
        // Given the block mask (or, for N:M, the row's own updated weights), rows are independent.
        IntStream.range(0, rows).parallel().forEach(r -> {
            int wr = r * cols + i1;
            double[] groupScores = nm == null ? null : new double[nm.m()];
            boolean[] group = nm == null ? null : new boolean[nm.m()];
            for (int i = 0; i < count; i++) {
                if (nm != null && i % nm.m() == 0) {
                    for (int k = 0; k < nm.m(); k++) groupScores[k] = w[wr + i + k] * w[wr + i + k] / d2[i + k];
                    MaskSelector.lowestInGroup(groupScores, 0, nm.m(), nm.prunedPerGroup(), group);
                    for (int k = 0; k < nm.m(); k++) pruned[r * count + i + k] = group[k];
                }
                if (!pruned[r * count + i]) continue;
                double e = w[wr + i] / u[(i1 + i) * cols + i1 + i];
                err[r * count + i] = e;
                w[wr + i] = 0;
                VectorOps.axpy(-e, u, (i1 + i) * cols + i1 + i + 1, w, wr + i + 1, count - i - 1);
            }
        });
        // Lazy batch update W[:, i2:] -= Err @ U[i1:i2, i2:], in column tiles so that the tile of U
        // stays in cache while every row uses it.
        for (int tile = i2; tile < cols; tile += LAZY_TILE) {
            int c0 = tile;
            int c1 = Math.min(c0 + LAZY_TILE, cols);
            IntStream.range(0, rows).parallel().forEach(r -> {
                for (int i = 0; i < count; i++) {
                    double e = err[r * count + i];
                    if (e != 0) VectorOps.axpy(-e, u, (i1 + i) * cols + c0, w, r * cols + c0, c1 - c0);
                }
            });
        }
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < count; i++) if (pruned[r * count + i]) mask.prune(r, i1 + i);
        }
    }

    @Override
    public String toString() {
        return "SparseGptPruner[blocksize=" + blocksize + ", percdamp=" + percdamp + "]";
    }
}
