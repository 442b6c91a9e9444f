package org.prunelab.prune;

import java.util.stream.IntStream;
import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * The column sweep SparseGPT and GPTQ share (Frantar &amp; Alistarh, ICML 2023, Alg. 1; Frantar et al., ICLR 2023,
 * Alg. 1): columns left to right in blocks, each column replaced by its target (0 where pruned; the nearest grid
 * value where quantised; itself otherwise), and the column's error {@code (w - q) / U_jj} moved onto the later
 * columns of its row with row j of U, the upper Cholesky factor of {@code (H + damp I)^-1}: within the block at
 * once, after the block for all later columns (lazy batch update). Arithmetic in double.
 *
 * <p>Which weights are pruned comes from a pattern (SparseGPT's own selection: one threshold over the block's
 * {@code w^2 / U_jj^2} for unstructured sparsity, per row and group of M from the updated weights for N:M) or from a
 * fixed mask (another method's, when GPTQ quantises an already pruned matrix: the pruned weights stay exactly 0 and
 * their error is compensated too, as the reference's {@code fasterprune} does with a given {@code mask}).
 *
 * <p>Quantisation to a GGUF grid ({@link GroupGrid}) uses one scale per row and group of 32 columns, chosen when the
 * sweep reaches the group's first column, as the GPTQ reference ({@code gptq.py} fasterquant with {@code groupsize}
 * and {@code static_groups=False}) calls {@code find_params(W[:, i:i+groupsize])}: on the weights as the lazy batch
 * updates of the earlier blocks left them (the reference's {@code W} does not see the updates made inside the
 * current block, which go to its copy {@code W1}). Weights already known to be pruned when the group starts (a fixed
 * mask, or the block's unstructured mask) count as 0 for the scale, as round-to-nearest on the pruned matrix sees
 * them; an N:M mask is chosen column group by column group, so all of the group's weights count.
 */
final class ObsSweep {
    /** Columns per tile of the lazy update (a 128 x 256 tile of U is 256 KiB). */
    private static final int LAZY_TILE = 256;
    /** Retries after the first attempt, each with 10x the damping. */
    static final int DAMPING_RETRIES = 3;
    private static final int GROUP = QuantSpec.GROUP;

    private ObsSweep() {}

    /**
     * The weights in double with dead columns zeroed, U, and what it took.
     *
     * @param w        {@code [rows, cols]} weights in double, updated by {@link #run}
     * @param u        {@code [cols, cols]} upper Cholesky factor of the damped inverse Hessian
     * @param dead     input features never active ({@code H_jj = 0}); their columns are 0
     * @param percdamp the damping fraction the factorisation succeeded with
     */
    record Prepared(double[] w, double[] u, int dead, double percdamp) {}

    /**
     * Dead inputs get {@code H_jj = 1} and a zero weight column; {@code percdamp * mean(diag H)} goes on the diagonal;
     * a failed Cholesky is retried with 10x the damping, {@value #DAMPING_RETRIES} times.
     *
     * @param method the name errors carry (SparseGPT, GPTQ)
     * @throws PrunelabException if H + damp I is not positive definite even with the largest damping
     */
    static Prepared prepare(String method, FloatMatrix weight, HessianStats stats, double percdamp) {
        int rows = weight.rows();
        int cols = weight.cols();
        // H = (2 / N) sum x x^T is never built as a whole: its diagonal here, the rest read from the accumulator by the
        // factorisation (Cholesky#upperFactorOfInverse: two n x n arrays, not five; none on the accumulator's last use,
        // which turns it into U).
        double scale = stats.scale();
        double[] upper = stats.upperSum();
        double[] diag = new double[cols];
        for (int j = 0; j < cols; j++) diag[j] = scale * upper[j * cols + j];
        double[] w = new double[rows * cols];
        float[] wf = weight.data();
        for (int i = 0; i < w.length; i++) w[i] = wf[i];
        int dead = 0;
        for (int j = 0; j < cols; j++) {
            if (diag[j] == 0) {
                dead++;
                diag[j] = 1;
                for (int r = 0; r < rows; r++) w[r * cols + j] = 0;
            }
        }
        double[] u = null;
        double damping = percdamp;
        double meanDiag = 0;
        for (int j = 0; j < cols; j++) meanDiag += diag[j];
        meanDiag /= cols;
        if (Double.isFinite(meanDiag)) {
            for (int attempt = 0; attempt <= DAMPING_RETRIES; attempt++, damping *= 10) {
                u = Cholesky.upperFactorOfInverse(upper, scale, diag, damping * meanDiag, cols, stats.isLastUse());
                if (u != null) break;
            }
        }
        if (u == null) {
            throw new PrunelabException(method + ": the Hessian of weight " + Checks.shape(weight) + " ("
                    + stats.tokens() + " calibration tokens) is not positive definite even with percdamp "
                    + percdamp * Math.pow(10, DAMPING_RETRIES) + ": the calibration inputs probably contain NaN"
                    + " or Inf; check the captured activations or use more calibration tokens");
        }
        if (u == upper) stats.markConsumed();
        return new Prepared(w, u, dead, damping);
    }

    /**
     * Runs the sweep over {@code p.w()} in place.
     *
     * @param blocksize columns per lazy-update block; rounded down to a multiple of M (N:M) and of 32 (quantising),
     *                  at least one of each
     * @param pattern   SparseGPT's selection, or null with {@code fixed}
     * @param fixed     the pruned weights, decided beforehand, or null with {@code pattern}
     * @param format    the grid to quantise to, or null to prune only
     * @return the pruned weights and, when quantising, the GGUF block bytes ({@code rows * cols / 32} blocks)
     */
    static Result run(Prepared p, int rows, int cols, int blocksize, SparsityPattern pattern, Mask fixed,
                      QuantType format) {
        if ((pattern == null) == (fixed == null)) throw new IllegalArgumentException("give a pattern or a fixed mask");
        int unit = 1;
        if (pattern instanceof SparsityPattern.NM nm) unit = nm.m();
        if (format != null) unit = lcm(unit, GROUP);
        int block = Math.max(unit, blocksize - blocksize % unit);
        Mask mask = new Mask(rows, cols);
        byte[] blocks = format == null ? null : new byte[(int) format.matrixBytes(rows, cols)];
        for (int i1 = 0; i1 < cols; i1 += block) {
            sweepBlock(p, rows, cols, i1, Math.min(i1 + block, cols), pattern, fixed, format, mask, blocks);
        }
        return new Result(mask, blocks);
    }

    /** @param blocks GGUF block bytes, or null when nothing was quantised */
    record Result(Mask mask, byte[] blocks) {}

    /** Columns [i1, i2): choose the mask, sweep with in-block error propagation, then the lazy update. */
    private static void sweepBlock(Prepared p, int rows, int cols, int i1, int i2, SparsityPattern pattern, Mask fixed,
                                   QuantType format, Mask mask, byte[] blocks) {
        double[] w = p.w();
        double[] u = p.u();
        int count = i2 - i1;
        double[] d2 = new double[count];
        for (int i = 0; i < count; i++) d2[i] = u[(i1 + i) * cols + i1 + i] * u[(i1 + i) * cols + i1 + i];
        boolean[] pruned = new boolean[rows * count]; // [rows, count]
        boolean known = false; // whether pruned[] is decided before the sweep (fixed or unstructured)
        if (fixed != null) {
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < count; i++) pruned[r * count + i] = fixed.isPruned(r, i1 + i);
            }
            known = true;
        } else if (pattern instanceof SparsityPattern.Unstructured un) {
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
            known = true;
        }
        // The block as the earlier blocks' lazy updates left it: what the reference's find_params sees.
        double[] start = null;
        if (format != null) {
            start = new double[rows * count];
            for (int r = 0; r < rows; r++) System.arraycopy(w, r * cols + i1, start, r * count, count);
        }
        SparsityPattern.NM nm = pattern instanceof SparsityPattern.NM q ? q : null;
        boolean knownMask = known;
        double[] blockStart = start;
        double[] err = new double[rows * count];
        // Given the block mask (or, for N:M, the row's own updated weights), rows are independent.
        IntStream.range(0, rows).parallel().forEach(r -> {
            int wr = r * cols + i1;
            double[] groupScores = nm == null ? null : new double[nm.m()];
            boolean[] group = nm == null ? null : new boolean[nm.m()];
            float[] g = format == null ? null : new float[GROUP];
            float id = 0f;
            float dh = 0f;
            for (int i = 0; i < count; i++) {
                if (nm != null && i % nm.m() == 0) {
                    for (int k = 0; k < nm.m(); k++) groupScores[k] = w[wr + i + k] * w[wr + i + k] / d2[i + k];
                    MaskSelector.lowestInGroup(groupScores, 0, nm.m(), nm.prunedPerGroup(), group);
                    for (int k = 0; k < nm.m(); k++) pruned[r * count + i + k] = group[k];
                }
                if (format != null && i % GROUP == 0) {
                    for (int k = 0; k < GROUP; k++) {
                        g[k] = knownMask && pruned[r * count + i + k] ? 0f : (float) blockStart[r * count + i + k];
                    }
                    float d = GroupGrid.scale(format, g);
                    short half = GroupGrid.half(d);
                    id = GroupGrid.inverse(d);
                    dh = Float.float16ToFloat(half);
                    GroupGrid.putScale(format, blocks, cols, r, i1 + i, half);
                }
                double v = w[wr + i];
                double q;
                if (pruned[r * count + i]) {
                    q = 0;
                    if (format != null) GroupGrid.putCode(format, blocks, cols, r, i1 + i, GroupGrid.zeroCode(format));
                } else if (format != null) {
                    int code = GroupGrid.code(format, (float) v, id);
                    GroupGrid.putCode(format, blocks, cols, r, i1 + i, code);
                    q = GroupGrid.value(format, code, dh);
                } else {
                    continue;
                }
                double e = (v - q) / u[(i1 + i) * cols + i1 + i];
                w[wr + i] = q;
                err[r * count + i] = e;
                if (e != 0) VectorOps.axpy(-e, u, (i1 + i) * cols + i1 + i + 1, w, wr + i + 1, count - i - 1);
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

    private static int lcm(int a, int b) {
        int x = a;
        int y = b;
        while (y != 0) {
            int t = x % y;
            x = y;
            y = t;
        }
        return a / x * b;
    }
}
