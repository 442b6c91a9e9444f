package org.prunelab.eval;

import org.prunelab.PrunelabException;
import org.prunelab.Progress;

import java.util.List;

/**
 * Perplexity by the protocol of the Wanda/SparseGPT reference code (REFERENCE.md, "Evaluation protocol"):
 * every window of {@code seqlen} tokens is evaluated independently from position 0; its loss is the mean
 * cross-entropy of predicting tokens 2..seqlen from their prefixes; perplexity is
 * {@code exp(sum_w(loss_w * seqlen) / (windows * seqlen))}, i.e. the exponential of the mean window loss.
 */
public final class Perplexity {
    private Perplexity() {}

    /** Per-position next-token negative log-likelihoods of one window, in nats. */
    @FunctionalInterface
    public interface NllFunction {
        /**
         * @param window token ids, length T
         * @return T-1 values: -log p(window[t+1] | window[0..t]) for t = 0..T-2
         */
        double[] tokenNll(int[] window);
    }

    /**
     * Evaluates every window in order.
     *
     * @param model    the language model as an NLL function
     * @param windows  equal-length windows of token ids (at least one; each at least 2 tokens)
     * @param progress receives "windows" progress after each window
     * @return perplexity, token counts and timing
     * @throws PrunelabException.InvalidArgument if there are no windows or their lengths differ
     */
    public static PerplexityResult evaluate(NllFunction model, List<int[]> windows, Progress progress) {
        if (windows.isEmpty()) {
            throw new PrunelabException.InvalidArgument("no evaluation windows: the dataset is shorter than one window; lower ${eval.seqlen} or use a longer dataset");
        }
        int seqlen = windows.getFirst().length;
        if (seqlen < 2) {
            throw new PrunelabException.InvalidArgument("seqlen must be at least 2 to predict a token, got " + seqlen);
        }
        double[] windowLoss = new double[windows.size()];
        long start = System.nanoTime();
        for (int w = 0; w < windows.size(); w++) {
            int[] window = windows.get(w);
            if (window.length != seqlen) {
                throw new PrunelabException.InvalidArgument("window " + w + " has " + window.length
                        + " tokens but window 0 has " + seqlen + "; all windows must have the same seqlen");
            }
            double[] nll = model.tokenNll(window);
            double sum = 0;
            for (double v : nll) sum += v;
            windowLoss[w] = sum / nll.length;
            progress.update(w + 1, windows.size(), "windows");
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        progress.finish();
        double mean = 0;
        for (double l : windowLoss) mean += l * seqlen;
        mean /= (double) windows.size() * seqlen;
        long tokens = (long) windows.size() * seqlen;
        return new PerplexityResult(Math.exp(mean), mean, windowLoss, windows.size(), seqlen, tokens, seconds,
                seconds > 0 ? tokens / seconds : Double.NaN);
    }
}
