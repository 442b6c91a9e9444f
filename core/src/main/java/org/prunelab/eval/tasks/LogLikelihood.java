package org.prunelab.eval.tasks;

import org.prunelab.PrunelabException;
import org.prunelab.data.Tokenizer;
import org.prunelab.model.DecoderModel;
import org.prunelab.model.KvCache;
import org.prunelab.tensor.VectorMath;

import java.util.Arrays;
import java.util.List;

/**
 * Log-likelihood of a continuation given a context, as lm-evaluation-harness's {@code loglikelihood} requests compute
 * it for a causal Hugging Face model ({@code TemplateLM._encode_pair} and {@code HFLM._loglikelihood_tokens}):
 *
 * <ol>
 *   <li>trailing whitespace of the context moves to the front of the continuation;</li>
 *   <li>context + continuation is encoded whole and the context alone, both with the tokenizer's defaults (no special
 *       tokens, except the BOS a tokenizer such as Gemma's adds by default: {@link Tokenizer#encodeWithDefaults});
 *       the continuation's tokens are the whole encoding's tail after as many tokens as the context has;</li>
 *   <li>the model reads context tokens then continuation tokens (the last one excluded) and the log-probabilities of
 *       the continuation tokens are summed, in nats; {@code greedy} says whether each continuation token was the
 *       argmax of its row.</li>
 * </ol>
 * Beyond the model's context length the input keeps its last {@code max_position_embeddings} tokens, as lm-eval
 * left-truncates. Several continuations of one context run the context once through a KV cache and each
 * continuation after it, so scoring k choices costs one context plus k continuations, not k contexts.
 */
public final class LogLikelihood {
    private LogLikelihood() {}

    /**
     * The token ids of one (context, continuation) pair.
     *
     * @param context      ids of the context (with the BOS where the tokenizer adds one)
     * @param continuation ids scored after it; never empty
     */
    public record Pair(int[] context, int[] continuation) {}

    /**
     * One continuation's score.
     *
     * @param logLikelihood sum over the continuation tokens of {@code log softmax(logits)[token]}, nats (at most 0)
     * @param greedy        whether every continuation token was the most likely one at its position
     * @param tokens        continuation tokens scored
     */
    public record Score(double logLikelihood, boolean greedy, int tokens) {}

    /**
     * lm-eval's encoding of a pair (step 1 and 2 above).
     *
     * @throws PrunelabException.InvalidArgument if the context is empty, or the continuation encodes to no token
     */
    public static Pair encode(Tokenizer tokenizer, String context, String continuation) {
        if (context.isEmpty()) throw new PrunelabException.InvalidArgument("empty context: a choice needs a context to score after");
        int keep = context.length();
        // Python's rstrip() strips what str.isspace() accepts: Character.isWhitespace plus the no-break spaces.
        while (keep > 0 && (Character.isWhitespace(context.charAt(keep - 1)) || Character.isSpaceChar(context.charAt(keep - 1)))) keep--;
        String ctx = context.substring(0, keep);
        String cont = context.substring(keep) + continuation;
        if (ctx.isEmpty()) throw new PrunelabException.InvalidArgument("the context is only whitespace; it needs text to score after");
        int[] whole = tokenizer.encodeWithDefaults(ctx + cont);
        int[] contextIds = tokenizer.encodeWithDefaults(ctx);
        int[] tail = whole.length > contextIds.length ? Arrays.copyOfRange(whole, contextIds.length, whole.length) : new int[0];
        if (tail.length == 0) {
            throw new PrunelabException.InvalidArgument("continuation \"" + continuation + "\" encodes to no token after its context");
        }
        return new Pair(contextIds, tail);
    }

    /**
     * Scores continuations after one shared context.
     *
     * @param context       context ids (at least one)
     * @param continuations continuation ids, each non-empty
     * @return one score per continuation, in order
     * @throws PrunelabException.InvalidArgument for an empty context or continuation, or an id outside the vocabulary
     */
    public static Score[] score(DecoderModel model, int[] context, List<int[]> continuations) {
        if (context.length == 0) throw new PrunelabException.InvalidArgument("empty context ids");
        int maxLen = model.config().maxPositionEmbeddings();
        int longest = 0;
        for (int[] c : continuations) {
            if (c.length == 0) throw new PrunelabException.InvalidArgument("empty continuation ids");
            longest = Math.max(longest, c.length);
        }
        Score[] out = new Score[continuations.size()];
        if (context.length + longest - 1 > maxLen) { // rare: lm-eval's left truncation, no sharing
            for (int i = 0; i < out.length; i++) out[i] = scoreTruncated(model, context, continuations.get(i), maxLen);
            return out;
        }
        int vocab = model.config().vocabSize();
        KvCache cache = model.newCache(context.length + Math.max(1, longest - 1));
        float[] first = model.prefill(context, cache); // predicts each continuation's first token
        for (int i = 0; i < out.length; i++) {
            int[] cont = continuations.get(i);
            cache.truncate(context.length);
            double ll = logProb(first, 0, vocab, cont[0]);
            boolean greedy = argmax(first, 0, vocab) == cont[0];
            if (cont.length > 1) {
                float[] rows = model.prefillLogits(Arrays.copyOf(cont, cont.length - 1), cache);
                for (int j = 1; j < cont.length; j++) {
                    int off = (j - 1) * vocab;
                    ll += logProb(rows, off, vocab, cont[j]);
                    greedy &= argmax(rows, off, vocab) == cont[j];
                }
            }
            out[i] = new Score(ll, greedy, cont.length);
        }
        return out;
    }

    /** {@code (context + cont)[-(maxLen + 1):][:-1]} in one forward; the last cont.length rows are scored. */
    private static Score scoreTruncated(DecoderModel model, int[] context, int[] cont, int maxLen) {
        int[] full = new int[context.length + cont.length];
        System.arraycopy(context, 0, full, 0, context.length);
        System.arraycopy(cont, 0, full, context.length, cont.length);
        int from = Math.max(0, full.length - maxLen - 1);
        int[] input = Arrays.copyOfRange(full, from, full.length - 1);
        if (cont.length > input.length) {
            throw new PrunelabException.InvalidArgument("a continuation of " + cont.length + " tokens does not fit the"
                    + " model's context of " + maxLen);
        }
        int vocab = model.config().vocabSize();
        float[] logits = model.logits(input);
        double ll = 0;
        boolean greedy = true;
        for (int j = 0; j < cont.length; j++) {
            int off = (input.length - cont.length + j) * vocab;
            ll += logProb(logits, off, vocab, cont[j]);
            greedy &= argmax(logits, off, vocab) == cont[j];
        }
        return new Score(ll, greedy, cont.length);
    }

    private static double logProb(float[] logits, int off, int vocab, int token) {
        return logits[off + token] - VectorMath.logSumExp(logits, off, vocab);
    }

    private static int argmax(float[] x, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (x[off + i] > x[off + best]) best = i;
        return best;
    }
}
