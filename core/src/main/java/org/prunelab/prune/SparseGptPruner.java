package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

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
        ObsSweep.Prepared p = ObsSweep.prepare("SparseGPT", weight, stats, percdamp);
        ObsSweep.Result r = ObsSweep.run(p, weight.rows(), weight.cols(), blocksize, pattern, null, null);
        writeBack(p.w(), weight);
        return new PruneResult(r.mask(), p.dead(), p.percdamp());
    }

    /** Prunes and quantises in one pass (SparseGPT's joint mode, below). */
    @Override
    public boolean quantizesJointly() { return true; }

    /**
     * Joint sparsification and quantisation (Frantar &amp; Alistarh 2023, Sec. 3.5 "Joint sparsification &amp;
     * quantization"; the reference's {@code fasterprune} with a quantiser): in the one column sweep of
     * {@link #prune}, a pruned weight's target is 0 and a kept weight's target is its rounding to the GGUF grid of
     * {@code format}, and the error of both goes onto the later columns. Each row's group of 32 columns gets its
     * scale when the sweep reaches the group (llama.cpp's RTN rule on the weights as the earlier blocks' updates left
     * them, weights already pruned by the block's unstructured mask counting as 0; see {@link ObsSweep}). The block
     * size is rounded down to a multiple of 32 (and of M for N:M); the default 128 stays 128.
     *
     * @param weight  {@code [out_features, in_features]}, in_features a multiple of 32; overwritten with the stored
     *                values (0 where pruned, exact grid values elsewhere)
     * @param stats   the Hessian of this linear's calibration inputs
     * @param pattern unstructured sparsity (0 = quantise only, with GPTQ's update) or N:M
     * @param format  the GGUF block format
     * @return the mask, the block bytes ({@link PruneResult#quantized()}), dead inputs and the damping used
     * @throws PrunelabException.InvalidArgument if the stats do not fit, hold no tokens, M or 32 does not divide
     *         in_features
     * @throws PrunelabException if the Hessian is not positive definite even after raising the damping
     */
    @Override
    public PruneResult pruneAndQuantize(FloatMatrix weight, HessianStats stats, SparsityPattern pattern,
                                        QuantType format) {
        Checks.stats(name(), weight, stats, true);
        Checks.pattern(weight, pattern);
        new QuantSpec(format, QuantSpec.Algorithm.GPTQ).checkFits(weight.cols(), "weight " + Checks.shape(weight));
        ObsSweep.Prepared p = ObsSweep.prepare("SparseGPT", weight, stats, percdamp);
        ObsSweep.Result r = ObsSweep.run(p, weight.rows(), weight.cols(), blocksize, pattern, null, format);
        writeBack(p.w(), weight);
        return new PruneResult(r.mask(), p.dead(), p.percdamp(),
                QuantMatrix.of(format, weight.rows(), weight.cols(), r.blocks()));
    }

    static void writeBack(double[] w, FloatMatrix weight) {
        float[] wf = weight.data();
        for (int i = 0; i < w.length; i++) wf[i] = (float) w[i];
    }

    @Override
    public String toString() {
        return "SparseGptPruner[blocksize=" + blocksize + ", percdamp=" + percdamp + "]";
    }

    /** The Hessian sum: fp64 {@code in x in}. */
    @Override
    public long statsBytes(int inFeatures) { return 8L * inFeatures * inFeatures; }

    /**
     * The Cholesky factor and its inverse, which becomes U (two fp64 {@code cols x cols}), the weights in fp64, the
     * mask, and one column block's scores and errors.
     */
    @Override
    public long pruneBytes(int rows, int cols) {
        return 2 * 8L * cols * cols + 8L * rows * cols + (long) rows * cols / 8 + 4 * 8L * rows * blocksize;
    }

    /**
     * A matrix alone in its input group (o_proj, down_proj) is its Hessian's last user, and the accumulator becomes the
     * factor in place: no n x n array beyond the statistics.
     */
    @Override
    public long pruneBytes(int rows, int cols, boolean alone) {
        return alone ? 8L * rows * cols + (long) rows * cols / 8 + 4 * 8L * rows * blocksize : pruneBytes(rows, cols);
    }
}
