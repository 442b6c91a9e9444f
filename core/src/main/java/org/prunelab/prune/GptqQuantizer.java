package org.prunelab.prune;

import org.prunelab.PrunelabException;
import org.prunelab.tensor.FloatMatrix;
import org.prunelab.tensor.quant.QuantMatrix;
import org.prunelab.tensor.quant.QuantType;

/**
 * GPTQ (Frantar, Ashkboos, Hoefler &amp; Alistarh, "GPTQ: Accurate Post-Training Quantization for Generative
 * Pre-trained Transformers", ICLR 2023, Alg. 1) to GGUF's Q8_0 / Q4_0 grids: the columns of a weight are rounded
 * left to right, and each column's rounding error is moved onto the columns not yet rounded with the inverse
 * Hessian of the layer-wise squared error {@code ||WX - QX||^2}, so that the layer's output on the calibration
 * inputs changes as little as possible.
 *
 * <p>As the reference ({@code IST-DASLab/gptq}, {@code gptq.py} fasterquant with {@code groupsize=32},
 * {@code static_groups=False}, {@code act_order=False}): H = (2/N) sum x x^T ({@link HessianStats}); dead inputs
 * ({@code H_jj = 0}) get {@code H_jj = 1} and a zero column; {@code percdamp * mean(diag H)} on the diagonal; U the
 * upper Cholesky factor of {@code (H + damp I)^-1}; blocks of {@code blocksize} columns with lazy batch updates. The
 * grid is GGUF's instead of the reference's min-max quantiser: one scale per row and group of 32 columns, chosen
 * when the sweep reaches the group's first column with llama.cpp's round-to-nearest rule (Q8_0 {@code d = amax/127},
 * Q4_0 {@code d = max/-8}, codes with the fp32 scale, the fp16 scale stored) on the weights as updated so far
 * ({@link ObsSweep}, {@link GroupGrid}); each column is then rounded with that scale (clamped to the format's codes)
 * and its error propagated. The result's blocks are exactly what a GGUF file of that type stores.
 *
 * <p>Pruned weights: with a mask (from a pruning method run just before), masked weights are set to exactly 0 (a
 * grid value) instead of rounded, and their error is propagated like a rounding error — the reference
 * {@code fasterprune}'s treatment of a given mask — so the mask survives quantisation. Damping is retried with 10x
 * up to three times when the factorisation fails, as SparseGPT's is.
 */
public final class GptqQuantizer {
    private final int blocksize;
    private final double percdamp;

    /** The reference settings: blocksize 128, percdamp 0.01. */
    public GptqQuantizer() {
        this(128, 0.01);
    }

    /**
     * @param blocksize columns per lazy-update block, a positive multiple of 32 (groups never straddle blocks)
     * @param percdamp  damping as a fraction of mean(diag H), &gt; 0
     * @throws PrunelabException.InvalidArgument otherwise
     */
    public GptqQuantizer(int blocksize, double percdamp) {
        if (blocksize < QuantSpec.GROUP || blocksize % QuantSpec.GROUP != 0 || !(percdamp > 0)) {
            throw new PrunelabException.InvalidArgument("GPTQ needs a blocksize that is a positive multiple of "
                    + QuantSpec.GROUP + " and percdamp > 0, got " + blocksize + " and " + percdamp
                    + ": the reference uses 128 and 0.01");
        }
        this.blocksize = blocksize;
        this.percdamp = percdamp;
    }

    /**
     * Quantises {@code weight} in place.
     *
     * @param weight {@code [out_features, in_features]}, in_features a multiple of 32; overwritten with the stored
     *               values (exact grid values, 0 where {@code pruned})
     * @param stats  the Hessian of this linear's calibration inputs (at least one token)
     * @param pruned weights that must stay exactly 0 (a pruning method's mask), or null for none
     * @param format the GGUF block format
     * @return the block bytes ({@link PruneResult#quantized()}), the mask as given (empty for null), dead inputs and
     *         the damping used
     * @throws PrunelabException.InvalidArgument if the stats do not fit the weight or hold no tokens, the mask has
     *         another shape, or 32 does not divide in_features
     * @throws PrunelabException if the Hessian is not positive definite even after raising the damping
     */
    public PruneResult quantize(FloatMatrix weight, HessianStats stats, Mask pruned, QuantType format) {
        Checks.stats("GPTQ", weight, stats, true);
        new QuantSpec(format, QuantSpec.Algorithm.GPTQ).checkFits(weight.cols(), "weight " + Checks.shape(weight));
        Mask mask = pruned == null ? new Mask(weight.rows(), weight.cols()) : pruned;
        if (mask.rows() != weight.rows() || mask.cols() != weight.cols()) {
            throw new PrunelabException.InvalidArgument("GPTQ: mask [" + mask.rows() + ", " + mask.cols()
                    + "] does not fit weight " + Checks.shape(weight) + ": pass the mask pruning made for this weight");
        }
        ObsSweep.Prepared p = ObsSweep.prepare("GPTQ", weight, stats, percdamp);
        ObsSweep.Result r = ObsSweep.run(p, weight.rows(), weight.cols(), blocksize, null, mask, format);
        SparseGptPruner.writeBack(p.w(), weight);
        return new PruneResult(r.mask(), p.dead(), p.percdamp(),
                QuantMatrix.of(format, weight.rows(), weight.cols(), r.blocks()));
    }

    @Override
    public String toString() {
        return "GptqQuantizer[blocksize=" + blocksize + ", percdamp=" + percdamp + "]";
    }
}
