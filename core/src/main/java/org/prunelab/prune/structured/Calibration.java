package org.prunelab.prune.structured;


import org.prunelab.PrunelabException;
import org.prunelab.model.BlockShape;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DenseLinear;
import org.prunelab.model.Linear;
import org.prunelab.model.LlamaConfig;
import org.prunelab.model.LlamaModel;
import org.prunelab.prune.ActivationCache;

import java.util.List;
import java.util.Map;

/**
 * The pieces of the sequential calibration loop (see {@link org.prunelab.prune.LayerwisePruner}) that the
 * structured methods share: block 0's inputs, one block's consumer statistics, propagation to the next block.
 * Every window runs at positions 0..seqlen-1 with the causal mask, as the forward pass does.
 */
final class Calibration {
    private Calibration() {}

    /** Block 0's inputs: the embedding rows of every window. */
    static void embed(LlamaModel model, List<int[]> windows, ActivationCache cache) {
        for (int w = 0; w < windows.size(); w++) cache.write(w, model.embed(windows.get(w)));
    }

    /** Runs block l on every cached window; returns {o_proj input stats, down_proj input stats}; the cache is unchanged. */
    static ChannelStats[] consumerStats(LlamaModel model, int l, ActivationCache cache, float[] x, boolean gram) {
        DecoderBlock b = model.block(l);
        ChannelStats o = new ChannelStats(b.linear("o_proj").inFeatures(), gram);
        ChannelStats down = new ChannelStats(b.linear("down_proj").inFeatures(), gram);
        int seqlen = x.length / model.config().hiddenSize();
        for (int w = 0; w < cache.windows(); w++) {
            cache.read(w, x);
            model.runBlock(l, x, seqlen, 0, (layer, name, input, tokens, in) -> {
                if (name.equals("o_proj")) o.add(input, tokens);
                if (name.equals("down_proj")) down.add(input, tokens);
            });
        }
        return new ChannelStats[]{o, down};
    }

    /** Replaces every cached window by block l's output on it: the inputs of block l+1. */
    static void propagate(LlamaModel model, int l, ActivationCache cache, float[] x) {
        int seqlen = x.length / model.config().hiddenSize();
        for (int w = 0; w < cache.windows(); w++) {
            cache.read(w, x);
            model.runBlock(l, x, seqlen, 0, null);
            cache.write(w, x);
        }
    }

    /** The config whose widths are the largest of the blocks' and whose layer count is theirs. */
    static LlamaConfig tightConfig(LlamaConfig c, List<DecoderBlock> blocks) {
        int inter = 1;
        int kv = 1;
        int group = 1;
        for (DecoderBlock b : blocks) {
            BlockShape s = b.shape();
            inter = Math.max(inter, s.intermediateSize());
            kv = Math.max(kv, s.numKeyValueHeads());
            group = Math.max(group, s.numAttentionHeads() / s.numKeyValueHeads());
        }
        return new LlamaConfig(c.hiddenSize(), inter, blocks.size(), kv * group, kv, c.headDim(), c.vocabSize(),
                c.maxPositionEmbeddings(), c.rmsNormEps(), c.ropeTheta(), c.ropeScaling(), c.tieWordEmbeddings(),
                c.bosTokenId(), c.eosTokenId());
    }

    /** Parameters of all blocks' linears (weights and biases). */
    static long linearParameters(LlamaModel model) {
        long n = 0;
        for (DecoderBlock b : model.blocks()) for (Linear l : b.linears().values()) n += l.totalParameters();
        return n;
    }

    /** @throws PrunelabException.InvalidArgument if a linear is not dense */
    static void checkDense(LlamaModel model) {
        for (DecoderBlock block : model.blocks()) {
            for (Map.Entry<String, Linear> e : block.linears().entrySet()) {
                if (!(e.getValue() instanceof DenseLinear)) {
                    throw new PrunelabException.InvalidArgument("layer " + block.index() + " " + e.getKey() + " is "
                            + e.getValue() + ", not a dense matrix: prune the dense model as loaded");
                }
            }
        }
    }

}
