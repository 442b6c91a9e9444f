package org.prunelab.model;

/**
 * Scratch activations for running single blocks on windows of {@code tokens} tokens, made once and passed to every
 * {@link DecoderModel#runBlock(DecoderBlock, float[], int, int, LinearInputObserver, BlockScratch)} call of a pass:
 * the calibration loop and the layer-wise evaluation run every window through every block, and fresh buffers per call
 * (348 MB for 2048 tokens of a 7B block) would be garbage that the collector lets pile up in the peak RSS. Not shared
 * between threads.
 */
public final class BlockScratch {
    final ForwardBuffers buffers;

    BlockScratch(DecoderConfig config, int tokens) {
        this.buffers = new ForwardBuffers(config, tokens);
    }

    /** Rows the buffers hold. */
    public int tokens() { return buffers.tokens; }
}
