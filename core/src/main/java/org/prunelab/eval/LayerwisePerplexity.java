package org.prunelab.eval;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;
import org.prunelab.model.ActivationCache;
import org.prunelab.model.DecoderBlock;
import org.prunelab.model.DecoderModel;

import java.util.List;

/**
 * Perplexity of a model too large for memory, with the protocol of {@link Perplexity} and its numbers bit for bit:
 * instead of running each window through every block, it runs every window through block l before block l+1, so
 * each block is read once (a streamed model, {@link DecoderBlock#isStreamed()}, reads it from its file and drops it
 * after). The hidden states of all windows wait between blocks in an {@link ActivationCache} (a temporary file of
 * windows x seqlen x hidden fp32 values, outside the heap); the LM head runs last, window by window.
 */
public final class LayerwisePerplexity {
    private LayerwisePerplexity() {}

    /**
     * @param model    any model; streamed blocks are unloaded after their turn
     * @param windows  equal-length windows of token ids (at least one; each at least 2 tokens)
     * @param progress told {@code (block, blocks + 1, "block i/n")} and then the LM head's windows
     * @return what {@link Perplexity#evaluate} returns for {@code model::tokenNll} on the same windows
     * @throws PrunelabException.InvalidArgument if there are no windows or their lengths differ
     */
    public static PerplexityResult evaluate(DecoderModel model, List<int[]> windows, Progress progress) {
        if (windows.isEmpty()) {
            throw new PrunelabException.InvalidArgument("no evaluation windows: the dataset is shorter than one window; lower ${eval.seqlen} or use a longer dataset");
        }
        int seqlen = windows.getFirst().length;
        for (int w = 0; w < windows.size(); w++) {
            if (windows.get(w).length != seqlen) {
                throw new PrunelabException.InvalidArgument("window " + w + " has " + windows.get(w).length
                        + " tokens but window 0 has " + seqlen + "; all windows must have the same seqlen");
            }
        }
        int hidden = model.config().hiddenSize();
        List<DecoderBlock> blocks = model.blocks();
        long start = System.nanoTime();
        try (ActivationCache cache = ActivationCache.create(windows.size(), seqlen, hidden)) {
            for (int w = 0; w < windows.size(); w++) cache.write(w, model.embed(windows.get(w)));
            float[] x = new float[seqlen * hidden];
            org.prunelab.model.BlockScratch scratch = model.newScratch(seqlen);
            for (int l = 0; l < blocks.size(); l++) {
                progress.update(l, blocks.size() + 1, "block " + (l + 1) + "/" + blocks.size());
                DecoderBlock block = blocks.get(l);
                for (int w = 0; w < windows.size(); w++) {
                    cache.read(w, x);
                    model.runBlock(block, x, seqlen, 0, null, scratch);
                    cache.write(w, x);
                }
                block.unload();
            }
            int[] next = {0};
            PerplexityResult r = Perplexity.evaluate(window -> {
                cache.read(next[0]++, x);
                return model.tokenNllAfterBlocks(x, window);
            }, windows, (d, t, label) -> progress.update(blocks.size(), blocks.size() + 1, "LM head, window " + d + "/" + t));
            double seconds = (System.nanoTime() - start) / 1e9;
            return new PerplexityResult(r.perplexity(), r.meanLoss(), r.windowLoss(), r.windows(), r.seqlen(), r.tokens(),
                    seconds, seconds > 0 ? r.tokens() / seconds : Double.NaN);
        } finally {
            progress.finish();
        }
    }
}
