package org.prunelab.model;

/**
 * Sees the input of every linear layer during a forward pass; pruning's calibration loop uses it to
 * accumulate statistics (input norms for Wanda, X X^T for SparseGPT). Q, K and V share one
 * input, as do GATE and UP; each name is still reported separately.
 */
@FunctionalInterface
public interface LinearInputObserver {

    /**
     * Called just before {@code linearName} of block {@code layer} runs.
     *
     * @param layer      block index, 0-based
     * @param linearName the linear's name in its family's naming ({@link BlockLayout}), one per {@link LinearRole}
     * @param x          the input, row-major {@code [tokens, inFeatures]}; a reused buffer — read it during the
     *                   call, copy what must outlive it, never write to it
     * @param tokens     rows of x
     * @param inFeatures columns of x
     */
    void onInput(int layer, String linearName, float[] x, int tokens, int inFeatures);
}
