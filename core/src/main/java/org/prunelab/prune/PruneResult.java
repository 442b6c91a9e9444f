package org.prunelab.prune;

import org.prunelab.tensor.quant.QuantMatrix;

/**
 * What one {@link PruningMethod#prune} (or {@link PruningMethod#pruneAndQuantize}, {@link GptqQuantizer#quantize})
 * call did to a weight matrix.
 *
 * @param mask        the weights the method removed (they are zero in the matrix now)
 * @param deadInputs  input features that were never active in calibration (zero norm / H_ii = 0);
 *                    always 0 for methods without calibration statistics
 * @param percdamp    SparseGPT's / GPTQ's damping, as a fraction of mean(diag H), that the Cholesky factorisation
 *                    finally succeeded with; 0 for methods without a Hessian
 * @param quantized   the weight in a GGUF block format when the call quantised it (the matrix then holds exactly
 *                    its values), else null
 */
public record PruneResult(Mask mask, int deadInputs, double percdamp, QuantMatrix quantized) {

    /** A result without quantisation. */
    public PruneResult(Mask mask, int deadInputs, double percdamp) {
        this(mask, deadInputs, percdamp, null);
    }

    /** Fraction of the matrix's weights this call pruned. */
    public double sparsity() { return mask.sparsity(); }
}
