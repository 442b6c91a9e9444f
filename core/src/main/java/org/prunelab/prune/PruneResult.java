package org.prunelab.prune;

/**
 * What one {@link PruningMethod#prune} call did to a weight matrix.
 *
 * @param mask        the weights the method removed (they are zero in the matrix now)
 * @param deadInputs  input features that were never active in calibration (zero norm / H_ii = 0);
 *                    always 0 for methods without calibration statistics
 * @param percdamp    SparseGPT's damping, as a fraction of mean(diag H), that the Cholesky factorisation
 *                    finally succeeded with; 0 for methods without a Hessian
 */
public record PruneResult(Mask mask, int deadInputs, double percdamp) {

    /** Fraction of the matrix's weights this call pruned. */
    public double sparsity() { return mask.sparsity(); }
}
