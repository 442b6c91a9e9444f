package org.prunelab.prune;

/**
 * What a pruning method collects while one block runs on the calibration windows (see {@link CalibrationLoop}):
 * the inputs of its linears and, if it asks, the block's input and output hidden states. Implementations
 * accumulate statistics (input norms for Wanda, the Hessian for SparseGPT, channel sums for FLAP, the cosine of
 * input and output for ShortGPT); they must not keep the arrays, which are reused buffers.
 */
public interface BlockObserver {

    /**
     * The input of {@code linear} (Hugging Face name) for one window, row-major {@code [tokens, inFeatures]}. Linears
     * reading the same tensor (q/k/v, gate/up) are each reported, with the same array.
     */
    void onLinearInput(String linear, float[] x, int tokens, int inFeatures);

    /** Whether {@link #onBlockOutput} is wanted (the loop then keeps a copy of each window's input). */
    default boolean wantsBlockOutput() { return false; }

    /** One window's block input and output, each {@code [tokens, hidden]}; called after the block ran. */
    default void onBlockOutput(float[] input, float[] output, int tokens, int hidden) {}
}
