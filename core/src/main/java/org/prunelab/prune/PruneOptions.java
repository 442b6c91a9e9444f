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
 */
public record PruneOptions(Progress progress, boolean releaseInput) {
    public PruneOptions {
        if (progress == null) progress = Progress.NONE;
    }

    /** Keep the input model; report progress to {@code progress}. */
    public static PruneOptions keepInput(Progress progress) {
        return new PruneOptions(progress, false);
    }
}
