package org.prunelab.prune;

import org.prunelab.Progress;

/**
 * How a {@link Pruner} run treats its input and reports progress.
 *
 * <p><b>Copy-on-prune, one rule for every method.</b> Pruning never changes the model it is given: each block is
 * pruned into a new block (unstructured methods copy a block's weights just before masking them; structured methods
 * build smaller matrices), and the result is a new model that shares the embeddings, final norm and LM head with the
 * input. The input stays valid, so a sweep prunes one loaded model again and again without restoring it, and a
 * notebook keeps the dense model beside the pruned one. With {@code releaseInput}, the loop drops the input's block l
 * as soon as block l is pruned, so resident memory stays near one model plus one block (what {@code prunelab prune}
 * needs, and the shape of the streaming pipeline, where block l is loaded, pruned, written and dropped); the input
 * model cannot run afterwards.
 *
 * @param progress     told {@code (block, blocks, "block i/n")} per block of every pass
 * @param releaseInput drop each input block once it is pruned (the input model is unusable afterwards)
 * @param sink         where each block goes once the last pass has made it, or null to keep the blocks in memory:
 *                     the streaming pipeline writes it to the output and keeps a {@linkplain
 *                     org.prunelab.model.DecoderBlock#isStreamed() streamed} handle instead
 * @param scratchDir   the folder of the calibration activations' temporary file ({@link
 *                     org.prunelab.model.ActivationCache}), or null for {@code java.io.tmpdir}
 */
public record PruneOptions(Progress progress, boolean releaseInput, BlockSink sink, java.nio.file.Path scratchDir) {
    public PruneOptions {
        if (progress == null) progress = Progress.NONE;
    }

    /** Blocks stay in memory; activations in {@code java.io.tmpdir}. */
    public PruneOptions(Progress progress, boolean releaseInput) {
        this(progress, releaseInput, null, null);
    }

    /** Activations in {@code java.io.tmpdir}. */
    public PruneOptions(Progress progress, boolean releaseInput, BlockSink sink) {
        this(progress, releaseInput, sink, null);
    }

    /**
     * Receives each block of the result as soon as the calibration loop's last pass has made it (and, when the loop
     * propagates, after block l+1's inputs were computed from it) and returns what the result keeps in its place —
     * typically the same block {@linkplain org.prunelab.model.DecoderBlock#streamedFrom read back from where it was
     * written}, so the pruned model never holds more than a block or two in memory.
     */
    @FunctionalInterface
    public interface BlockSink {
        /**
         * @param block a block of the result at its final position ({@code block.index()})
         * @return the block to keep in the result (same index and shape)
         */
        org.prunelab.model.DecoderBlock accept(org.prunelab.model.DecoderBlock block);
    }

    /** Keep the input model; report progress to {@code progress}. */
    public static PruneOptions keepInput(Progress progress) {
        return new PruneOptions(progress, false);
    }
}
