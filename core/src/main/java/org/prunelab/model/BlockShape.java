package org.prunelab.model;

import org.prunelab.PrunelabException;

/**
 * The widths of one decoder block after structured pruning, which may differ from block to block and from
 * the config's (the config then holds the largest of each, the bound that buffers and caches are sized for).
 * Stored in {@code config.json} under {@code "prunelab_layer_sizes"} ({@code org.prunelab.arch.HfConfig}).
 *
 * @param intermediateSize  rows of GATE/UP, columns of DOWN
 * @param numAttentionHeads query heads (rows of Q / head_dim)
 * @param numKeyValueHeads  key/value heads (rows of K and V / head_dim); divides numAttentionHeads
 */
public record BlockShape(int intermediateSize, int numAttentionHeads, int numKeyValueHeads) {

    public BlockShape {
        if (intermediateSize < 1 || numAttentionHeads < 1 || numKeyValueHeads < 1
                || numAttentionHeads % numKeyValueHeads != 0) {
            throw new PrunelabException.ModelFormat("invalid block shape: intermediate_size " + intermediateSize
                    + ", num_attention_heads " + numAttentionHeads + ", num_key_value_heads " + numKeyValueHeads
                    + "; all must be positive and the heads a multiple of the key/value heads");
        }
    }

    /** The shape every block of an unpruned model with this config has. */
    public static BlockShape of(DecoderConfig c) {
        return new BlockShape(c.intermediateSize(), c.numAttentionHeads(), c.numKeyValueHeads());
    }

    /** Whether this shape fits within the config's widths (so the config's buffers can hold it). */
    public boolean fitsIn(DecoderConfig c) {
        return intermediateSize <= c.intermediateSize() && numAttentionHeads <= c.numAttentionHeads()
                && numKeyValueHeads <= c.numKeyValueHeads();
    }
}
