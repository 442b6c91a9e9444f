package org.prunelab.eval;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Perplexity computed the way llama.cpp's {@code llama-perplexity} computes it (its default mode,
 * {@code tools/perplexity/perplexity.cpp}, function {@code perplexity}), so a prunelab model and a GGUF export of it run
 * in llama.cpp can be compared number for number:
 * <ol>
 *   <li>the whole text is tokenised once, with the model's BOS in front where its tokenizer adds one;</li>
 *   <li>it is cut into {@code floor(tokens / nCtx)} consecutive chunks of {@code nCtx} tokens (at most
 *       {@code --chunks}); where the tokenizer adds a BOS, each chunk's first token is <em>replaced</em> by BOS;</li>
 *   <li>each chunk is evaluated from position 0, and only its second half is scored: the predictions made at
 *       positions {@code nCtx/2 .. nCtx-2}, {@code nCtx - nCtx/2 - 1} tokens per chunk;</li>
 *   <li>perplexity is {@code exp} of the mean negative log-likelihood over all scored tokens.</li>
 * </ol>
 * prunelab's own protocol ({@link Perplexity}) differs: non-overlapping windows of the BOS-prefixed stream with no BOS
 * replacement, every position scored from the first.
 */
public final class LlamaCppPerplexity {
    private LlamaCppPerplexity() {}

    /**
     * Outcome.
     *
     * @param perplexity   exp(meanNll)
     * @param meanNll      mean negative log-likelihood over the scored tokens, nats
     * @param chunks       chunks evaluated
     * @param nCtx         tokens per chunk
     * @param scoredTokens chunks x (nCtx - nCtx/2 - 1)
     */
    public record Result(double perplexity, double meanNll, int chunks, int nCtx, long scoredTokens) {}

    /**
     * The chunks llama-perplexity evaluates.
     *
     * @param tokens    the tokenised text (BOS first where the tokenizer adds one)
     * @param nCtx      tokens per chunk ({@code -c})
     * @param maxChunks at most this many ({@code --chunks}); negative for all
     * @param bos       the BOS id to put at each chunk's start, or -1 when the tokenizer adds none
     * @throws PrunelabException.InvalidArgument if the text has fewer than {@code 2 nCtx} tokens, which llama-perplexity
     *         refuses too
     */
    public static List<int[]> chunks(int[] tokens, int nCtx, int maxChunks, int bos) {
        if (nCtx < 4) throw new PrunelabException.InvalidArgument("nCtx must be at least 4, got " + nCtx);
        if (tokens.length < 2 * nCtx) {
            throw new PrunelabException.InvalidArgument("the text has " + tokens.length + " tokens; llama-perplexity needs at"
                    + " least 2 x " + nCtx + " for a context of " + nCtx);
        }
        int n = tokens.length / nCtx;
        if (maxChunks >= 0) n = Math.min(n, maxChunks);
        List<int[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int[] c = Arrays.copyOfRange(tokens, i * nCtx, (i + 1) * nCtx);
            if (bos >= 0) c[0] = bos;
            out.add(c);
        }
        return out;
    }

    /**
     * Scores the second half of every chunk.
     *
     * @param model    the model as an NLL function ({@link Perplexity.NllFunction})
     * @param chunks   from {@link #chunks}
     * @param progress one update per chunk
     * @throws PrunelabException.InvalidArgument if there are no chunks or their lengths differ
     */
    public static Result evaluate(Perplexity.NllFunction model, List<int[]> chunks, Progress progress) {
        if (chunks.isEmpty()) throw new PrunelabException.InvalidArgument("no chunks to evaluate");
        int nCtx = chunks.getFirst().length;
        int first = nCtx / 2;
        double nll = 0;
        long count = 0;
        for (int i = 0; i < chunks.size(); i++) {
            int[] c = chunks.get(i);
            if (c.length != nCtx) throw new PrunelabException.InvalidArgument("chunk " + i + " has " + c.length + " tokens, not " + nCtx);
            double[] v = model.tokenNll(c);
            // v[p] is -log p(c[p+1] | c[0..p]); llama-perplexity scores p = first .. nCtx-2
            for (int p = first; p <= nCtx - 2; p++) nll += v[p];
            count += nCtx - first - 1;
            progress.update(i + 1, chunks.size(), "chunks");
        }
        progress.finish();
        double mean = nll / count;
        return new Result(Math.exp(mean), mean, chunks.size(), nCtx, count);
    }
}
