package org.prunelab.prune;

import org.prunelab.tensor.quant.QuantMatrix;

/**
 * What pruning did to one linear of one block.
 *
 * @param layer          block index, 0-based
 * @param name           the linear's name within the block, in its family's naming
 * @param outFeatures    rows of the weight
 * @param inFeatures     columns of the weight
 * @param targetSparsity the sparsity this linear was pruned to (OWL: its block's; N:M: 1 - N/M)
 * @param pruned         weights the method removed
 * @param zeros          weights equal to zero afterwards (pruned ones plus any that already were zero)
 * @param deadInputs     input features never active during calibration
 * @param percdamp       SparseGPT's (or GPTQ's) final damping fraction; 0 for other methods
 * @param quantized      the weight's GGUF blocks when the run quantised it ({@link QuantSpec}), else null; the
 *                       model's linear then holds exactly their values (dequantised, fp32)
 */
public record PrunedLinear(int layer, String name, int outFeatures, int inFeatures, double targetSparsity,
                           long pruned, long zeros, int deadInputs, double percdamp, QuantMatrix quantized) {

    /** A linear that was pruned, not quantised. */
    public PrunedLinear(int layer, String name, int outFeatures, int inFeatures, double targetSparsity,
                        long pruned, long zeros, int deadInputs, double percdamp) {
        this(layer, name, outFeatures, inFeatures, targetSparsity, pruned, zeros, deadInputs, percdamp, null);
    }

    /** Number of weights, {@code outFeatures x inFeatures}. */
    public long parameters() { return (long) outFeatures * inFeatures; }

    /** Zero weights over all weights after pruning: the sparsity a sparse format would see. */
    public double actualSparsity() { return (double) zeros / parameters(); }
}
