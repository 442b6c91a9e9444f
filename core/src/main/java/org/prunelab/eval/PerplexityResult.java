package org.prunelab.eval;

/**
 * Outcome of one perplexity evaluation.
 *
 * @param perplexity      exp(meanLoss)
 * @param meanLoss        mean next-token cross-entropy in nats over all windows
 * @param windowLoss      mean loss of each window, in window order
 * @param windows         number of windows evaluated
 * @param seqlen          tokens per window
 * @param tokens          windows * seqlen (tokens run through the model)
 * @param seconds         wall time of the forward passes
 * @param tokensPerSecond tokens / seconds
 */
public record PerplexityResult(double perplexity, double meanLoss, double[] windowLoss, int windows, int seqlen,
                               long tokens, double seconds, double tokensPerSecond) {}
